"""Entering a running container's network namespace (what ``-p`` and ``--network container:``
need), from namespace fds the engine opens itself.

The fds come from ``/proc/PID/ns/`` of the container's PID 1, opened through a ``/proc/PID``
directory fd whose start time was checked first: a directory fd stays bound to the process it
was opened for (once that process is gone, opening through it fails), so a recycled pid can
never hand us another process's namespace. Nothing here follows a path a container chose.

A rootless container's network namespace belongs to its user namespace, and ``setns`` into it
needs CAP_SYS_ADMIN there: the caller first joins that user namespace (allowed, since the
engine's user owns it), which the kernel only lets a single-threaded process do.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from ..errors import Unavailable

@dataclass(frozen=True)
class NamespaceFds:
    """A process's network namespace, and its user namespace when it is not ours."""

    net: int
    user: int | None

    def close(self) -> None:
        for fd in (self.net, self.user):
            if fd is not None:
                os.close(fd)


def start_time_of(stat_text: str) -> int:
    """Field 22 of ``/proc/PID/stat``: with the pid, it names exactly one process.

    >>> start_time_of("42 (a) b) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 0")
    777
    """
    return int(stat_text.rsplit(")", 1)[1].split()[19])


def open_namespaces(pid: int, start_time: int) -> NamespaceFds:
    """The namespace fds of process ``pid``, refused unless it is still the process that
    started at ``start_time`` (clock ticks since boot)."""
    try:
        proc = os.open(f"/proc/{pid}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        raise Unavailable(f"process {pid} is gone: the container is not running") from None
    try:
        with open(os.open("stat", os.O_RDONLY | os.O_CLOEXEC, dir_fd=proc), "rb") as stat:
            if start_time_of(stat.read().decode(errors="replace")) != start_time:
                raise Unavailable(f"process {pid} is not the container's any more")
        net = os.open("ns/net", os.O_RDONLY | os.O_CLOEXEC, dir_fd=proc)
        user = os.open("ns/user", os.O_RDONLY | os.O_CLOEXEC, dir_fd=proc)
    except (ProcessLookupError, FileNotFoundError):
        raise Unavailable(f"process {pid} is gone: the container is not running") from None
    finally:
        os.close(proc)
    if os.fstat(user).st_ino == os.stat("/proc/self/ns/user").st_ino:
        os.close(user)
        return NamespaceFds(net, None)
    return NamespaceFds(net, user)


def setns(fd: int, nstype: int) -> None:
    # ctypes and libc only when a namespace is entered: the engine imports start_time_of.
    from . import _libc
    try:
        _libc.setns(fd, nstype)
    except OSError as exc:
        what = "user" if nstype == _libc.CLONE_NEWUSER else "network"
        raise OSError(exc.errno, f"cannot enter the container's {what} namespace: "
                                 f"{os.strerror(exc.errno or 0)}") from None


def make_undumpable() -> None:
    """Inside a container's user namespace, nothing the container runs may ptrace this process
    or read its memory (a process that is not dumpable is owned by the host's root)."""
    from . import _libc
    _libc.prctl(_libc.PR_SET_DUMPABLE, 0, 0, 0, 0, "prctl(PR_SET_DUMPABLE)")


def enter(namespaces: NamespaceFds) -> None:
    """Join the namespaces (user first, when there is one); the calling process must have a
    single thread."""
    from ._libc import CLONE_NEWNET, CLONE_NEWUSER
    if namespaces.user is not None:
        setns(namespaces.user, CLONE_NEWUSER)
    setns(namespaces.net, CLONE_NEWNET)


@contextlib.contextmanager
def opened(pid: int, start_time: int):  # type: ignore[no-untyped-def]
    namespaces = open_namespaces(pid, start_time)
    try:
        yield namespaces
    finally:
        namespaces.close()


def join_for(network: str) -> NamespaceFds | None:
    """The namespaces a container with ``network`` (``container:PID:START``) joins, or None."""
    from .spec import joined_network
    target = joined_network(network)
    return None if target is None else open_namespaces(*target)
