"""``python tests/tools/no_userns.py PROGRAM ARGS…``: run PROGRAM as on a host without user namespaces.

The shape of a Binder or JupyterHub pod, whose container runtime's seccomp profile refuses new
user namespaces: ``unshare`` and ``clone`` with ``CLONE_NEWUSER`` fail with EPERM, and
``clone3`` (whose flags live in a struct seccomp cannot read) with ENOSYS, so libc falls back to
``clone``, as docker's default profile does it. The filter is loaded with libseccomp
(``pyseccomp``) and is inherited by everything PROGRAM starts; it sets ``no_new_privs``, as such
pods do, so setuid helpers (newuidmap) gain nothing either.
"""

from __future__ import annotations

import errno
import os
import sys

CLONE_NEWUSER = 0x10000000


def load_filter() -> None:
    import pyseccomp as seccomp

    refused = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    # Only user namespaces are refused: libseccomp would kill any other-ABI syscall, and proot
    # (the fallback this wrapper makes the engine use) voids the syscalls it emulates that way.
    refused.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.ALLOW)
    new_user = seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)
    for call in ("unshare", "clone"):  # the flags are the first argument of both (x86-64, arm64)
        refused.add_rule(seccomp.ERRNO(errno.EPERM), call, new_user)
    refused.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    refused.load()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 125
    load_filter()
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"no_userns: {argv[0]}: {exc.strerror}", file=sys.stderr)
        return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
