"""The last steps of every process that enters a container: PID 1 and each ``exec`` alike.

Once a process stands inside the container's namespaces and root, ``exec_confined`` gives it
exactly the container's confinement and ``execve``s the user's program: working directory,
rlimits, capability sets (docker's default), the user's ids, signal dispositions, no
``no_new_privs`` escape, and last the seccomp filter. One code path, so an ``exec``'d process can
never hold more than PID 1.

Everything this module runs after ``chroot``/``pivot_root`` is imported before: a lazy import
would load Python code from the container's own filesystem.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
from collections.abc import Sequence

from ..errors import InvalidArgument
from . import _libc, capabilities, command, seccomp
from .users import ResolvedUser, resolve_user

#: Signals the supervisor passes on to the container (docker's sig-proxy).
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGWINCH)

#: (resource, (soft, hard)) pairs: the limits to set before the program runs.
Rlimits = Sequence[tuple[int, tuple[int, int]]]


def exit_status(wait_status: int) -> int:
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def supervise(pid: int) -> int:
    """Forward signals to ``pid`` until it exits; its docker-style exit status."""
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    _, wait_status = os.waitpid(pid, 0)  # PEP 475: retried after each forwarded signal
    return exit_status(wait_status)


#: Every signal whose disposition can be set, listed once at import (``valid_signals`` builds
#: an enum member per signal: a third of a millisecond each time).
_SETTABLE = tuple(sig for sig in signal.valid_signals()
                  if sig not in (signal.SIGKILL, signal.SIGSTOP))


def reset_signals() -> None:
    # Python ignores SIGPIPE and SIGXFSZ; ignored dispositions survive execve, and a container
    # whose `yes | head` never ends is a confusing lesson. Python knows every disposition (it
    # reads them all at start-up and records each it sets), so only those not at the default
    # already take a syscall; None (a handler Python did not install) is reset too.
    for sig in _SETTABLE:
        if signal.getsignal(sig) is not signal.SIG_DFL:
            try:
                signal.signal(sig, signal.SIG_DFL)
            except (OSError, ValueError):
                pass


def switch_user(user: ResolvedUser, *, setgroups_allowed: bool, rootless_single: bool) -> None:
    try:
        if setgroups_allowed:
            os.setgroups(list(user.groups))
        os.setresgid(user.gid, user.gid, user.gid)
        os.setresuid(user.uid, user.uid, user.uid)
    except OSError as exc:
        if rootless_single:
            raise InvalidArgument(
                f"user {user.uid}:{user.gid} does not exist in this rootless container: only uid "
                "0 is mapped (give this user a range in /etc/subuid and /etc/subgid)") from None
        raise InvalidArgument(f"cannot switch to user {user.uid}:{user.gid}: {exc.strerror}") \
            from None


def close_fds_except(*keep: int) -> None:
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)


def read_text(path: str) -> str:
    """A regular file's text, or "" — never blocking on a FIFO an image put in its place."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    with open(fd, encoding="utf-8", errors="replace") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        try:
            return f.read()
        except OSError:
            return ""


def exec_confined(argv: list[str], env: list[str], cwd: str, user_text: str, *,
                  syscall_filter: bytes | None, status_fd: int, tty: bool, hostname: str,
                  setgroups_allowed: bool, rootless_single: bool, rlimits: Rlimits = ()) -> int:
    """Inside the container's namespaces and root: confine this process and ``execve``
    ``argv``. ``syscall_filter`` (``seccomp.program_for``, compiled before entering: libseccomp
    must not be looked up in the container) is loaded last. Returns only a docker status
    (126/127) when the program cannot run."""
    user = resolve_user(user_text, read_text("/etc/passwd"), read_text("/etc/group"))
    environment = command.with_defaults(env, home=user.home, hostname=hostname, tty=tty)
    try:
        os.chdir(cwd)
    except OSError as exc:
        raise InvalidArgument(f"cannot change to working directory {cwd}: {exc.strerror}") \
            from None
    for which, limits in rlimits:  # before the capabilities go: raising a hard limit needs one
        resource.setrlimit(which, limits)
    capabilities.set_process_sets(capabilities.DEFAULT)
    switch_user(user, setgroups_allowed=setgroups_allowed, rootless_single=rootless_single)
    _libc.set_parent_death_signal(signal.SIGKILL)  # a change of ids cleared it
    reset_signals()
    found = command.find_executable(argv[0], environment, cwd, to_host=lambda p: p)
    if isinstance(found, command.CommandFailure):
        os.write(2, f"minidock: {found.message}\n".encode())
        return found.status
    close_fds_except(status_fd)  # status_fd is close-on-exec: EOF tells the engine we are off
    _libc.set_no_new_privs()
    seccomp.load(syscall_filter)  # last: from here on only what the program itself may do
    try:
        os.execve(found, argv, command.as_mapping(environment))
    except OSError as exc:
        failed = command.failure(argv[0], exc.errno or 0, found)
        os.write(2, f"minidock: {failed.message}\n".encode())
        return failed.status
