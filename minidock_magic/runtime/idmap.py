"""Enter a user namespace whose uid 0 is the caller: the heart of rootless containers.

With only the caller's own id mapped, any process may write its maps itself (after denying
``setgroups``, as the kernel requires) but then uid 0 is the only user inside, so ``--user
65534`` cannot work. When the caller owns a range in ``/etc/subuid`` and ``/etc/subgid`` (which
``useradd`` adds) the setuid helpers ``newuidmap``/``newgidmap`` map it too, as podman does:
inside uid 1…N are host ids START…START+N-1. Those helpers must run *outside* the new namespace,
so a child forked before ``unshare`` waits for the go-ahead and writes the maps for its parent.
"""

from __future__ import annotations

import functools
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from ..errors import Unavailable
from . import _libc


@dataclass(frozen=True, slots=True)
class IdMapPlan:
    """The uid and gid maps a rootless container's user namespace gets."""

    uid: int
    gid: int
    sub_uids: tuple[int, int] | None  # (start, count) from /etc/subuid
    sub_gids: tuple[int, int] | None

    @property
    def full(self) -> bool:
        """Whether more than uid/gid 0 exist inside (and setgroups stays allowed)."""
        return self.sub_uids is not None and self.sub_gids is not None


def subordinate_range(path: Path, name: str, uid: int) -> tuple[int, int] | None:
    """The first ``NAME:START:COUNT`` (or ``UID:START:COUNT``) range for the user in ``path``.

    >>> import tempfile; f = Path(tempfile.mktemp()); _ = f.write_text("bob:100000:65536\\n")
    >>> subordinate_range(f, "bob", 1000), subordinate_range(f, "eve", 1001)
    ((100000, 65536), None)
    """
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (name, str(uid)) and fields[1].isdigit() \
                and fields[2].isdigit() and int(fields[2]) > 0:
            return int(fields[1]), int(fields[2])
    return None


def plan() -> IdMapPlan:
    import shutil  # here, not at the top: the rootful helper never needs it (start-up time)

    uid, gid = os.geteuid(), os.getegid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = str(uid)
    if shutil.which("newuidmap") is None or shutil.which("newgidmap") is None:
        return IdMapPlan(uid, gid, None, None)
    return IdMapPlan(uid, gid, subordinate_range(Path("/etc/subuid"), name, uid),
                     subordinate_range(Path("/etc/subgid"), name, uid))


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


@functools.cache
def plan_for_containers() -> IdMapPlan:
    """``plan()``, worked out once per process: the fork server does it before it forks (with
    ``subprocess`` imported for ``_run_map_helpers``), so no container start repeats it."""
    import subprocess  # noqa: F401 - imported here once, not in every map helper's child
    return plan()


def _run_map_helpers(pid: int, ids: IdMapPlan) -> int:
    import subprocess  # only on this path: keeps the helper's start-up short

    assert ids.sub_uids is not None and ids.sub_gids is not None
    # Both at once: each is a setuid program's start, and neither needs the other.
    running = [(tool, subprocess.Popen(
        [tool, str(pid), "0", str(own), "1", "1", str(start), str(count)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for tool, own, (start, count) in (("newuidmap", ids.uid, ids.sub_uids),
                                          ("newgidmap", ids.gid, ids.sub_gids))]
    failed = 0
    for tool, helper in running:
        _, err = helper.communicate()
        if helper.returncode != 0:
            os.write(2, f"minidock: {tool} failed: {err.decode(errors='replace').strip()}\n"
                        .encode())
            failed = 1
    return failed


def enter_user_namespace(flags: int, ids: IdMapPlan) -> None:
    """``unshare(CLONE_NEWUSER | flags)`` and map ids; the caller becomes root inside."""
    helper = go = -1
    if ids.full:
        read_end, go = os.pipe()
        helper = os.fork()
        if helper == 0:  # still outside: wait until the parent has its new namespace
            os.close(go)
            os.read(read_end, 1)
            os._exit(_run_map_helpers(os.getppid(), ids))
        os.close(read_end)
    try:
        _libc.unshare(_libc.CLONE_NEWUSER | flags)
    except OSError as exc:
        if helper > 0:
            os.close(go)
            os.waitpid(helper, 0)
        from .probe import choose
        raise Unavailable(f"this host refuses user namespaces ({exc.strerror}); "
                          f"use {choose('proot')}") from None
    if helper > 0:
        os.write(go, b"1")
        os.close(go)
        if os.waitstatus_to_exitcode(os.waitpid(helper, 0)[1]) != 0:
            raise Unavailable("newuidmap/newgidmap could not map the subordinate ids of "
                              "/etc/subuid and /etc/subgid")
        return
    try:
        _write("/proc/self/setgroups", "deny")  # required before an unprivileged gid_map
        _write("/proc/self/uid_map", f"0 {ids.uid} 1")
        _write("/proc/self/gid_map", f"0 {ids.gid} 1")
    except OSError as exc:
        raise Unavailable(f"cannot map ids in the new user namespace ({exc.strerror})") from None
