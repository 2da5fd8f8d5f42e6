"""``exec``: enter a running container with the engine's own code, no external binary.

Runs in a supervisor forked like a container's (``launch``). It pins the container's PID 1 with a
pidfd, reads what PID 1 runs under while it can still see the host (its cgroups, rlimits, root,
user-namespace id maps), ``setns``es into every namespace PID 1 has and this process lacks (the
user namespace too, when there is one) and ``chroot``s into PID 1's root. A PID namespace
applies to children only, so it forks once: that child is the exec'd process; it joins PID 1's
cgroups and takes PID 1's confinement through the very code PID 1 used
(``confine.exec_confined``). The supervisor stays outside, as for ``run``: it forwards signals,
waits, and exits with the program's status.

Nothing here is looked up through the container's ``PATH`` or files; the only container data read
are /etc/passwd and /etc/group, as for PID 1.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
from dataclasses import dataclass

from ..errors import Conflict, Unavailable
from . import _libc, _status, capabilities, cgroups, command, confine, seccomp
from .spec import ExecSpec

#: The namespaces of a container, by /proc/PID/ns name, in the order they are joined when
#: joined one by one (user first: it grants the rights to join the others).
NAMESPACES = (("user", _libc.CLONE_NEWUSER), ("mnt", _libc.CLONE_NEWNS),
              ("pid", _libc.CLONE_NEWPID), ("uts", _libc.CLONE_NEWUTS),
              ("ipc", _libc.CLONE_NEWIPC), ("net", _libc.CLONE_NEWNET),
              ("cgroup", _libc.CLONE_NEWCGROUP))


@dataclass
class Target:
    """What the container's PID 1 runs under, read from the host side before entering."""

    pidfd: int
    root: int  # an O_PATH fd of PID 1's root directory
    namespaces: list[tuple[int, int]]  # (CLONE_NEW* flag, fd of /proc/PID/ns/NAME) to join
    cgroup_procs: list[int]  # fds of PID 1's cgroup.procs files that are not ours
    rlimits: list[tuple[int, tuple[int, int]]]
    in_userns: bool
    full_map: bool
    setgroups_allowed: bool

    def close(self) -> None:
        for fd in (self.pidfd, self.root, *(fd for _, fd in self.namespaces),
                   *self.cgroup_procs):
            os.close(fd)


def _start_time(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    return int(stat[stat.rindex(b")") + 2:].split()[19])  # field 22, after "comm" may hold spaces


def parse_limits(text: str) -> list[tuple[int, tuple[int, int]]]:
    r"""/proc/PID/limits as (resource, (soft, hard)): one line per RLIMIT_ number, in order.
    (Readable whoever runs PID 1, where ``prlimit`` would need its very ids.)

    >>> parse_limits("Limit  Soft Limit  Hard Limit  Units\n"
    ...              "Max cpu time              unlimited            unlimited            seconds\n"
    ...              "Max file size             1024                 unlimited            bytes\n")
    [(0, (-1, -1)), (1, (1024, -1))]
    """
    found = []
    for number, line in enumerate(text.splitlines()[1:]):
        fields = line[26:].split()  # the name column is 26 wide and may hold spaces
        if len(fields) < 2:
            continue
        soft, hard = (resource.RLIM_INFINITY if v == "unlimited" else int(v) for v in fields[:2])
        found.append((number, (soft, hard)))
    return found


def _same(path_a: str, path_b: str) -> bool:
    a, b = os.stat(path_a), os.stat(path_b)
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _full_map(uid_map: str) -> bool:
    """More than one id mapped (subordinate ranges): other users exist in the namespace.

    >>> _full_map("0 1000 1\\n"), _full_map("0 1000 1\\n1 100000 65536\\n")
    (False, True)
    """
    lines = [line.split() for line in uid_map.splitlines() if line.strip()]
    return len(lines) > 1 or any(int(fields[2]) > 1 for fields in lines)


def pin(spec: ExecSpec) -> Target:
    """Open everything needed to enter PID 1's container, and check it is still that PID 1."""
    pid = spec.pid
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        raise Conflict(f"container process {pid} is not running") from None
    opened: list[int] = []
    try:
        proc = f"/proc/{pid}"
        if spec.pid_start is not None and _start_time(pid) != spec.pid_start:
            raise Conflict(f"container process {pid} is not running (its pid was reused)")
        root = os.open(f"{proc}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        opened.append(root)
        namespaces = []
        for name, flag in NAMESPACES:
            if not _same(f"/proc/self/ns/{name}", f"{proc}/ns/{name}"):
                fd = os.open(f"{proc}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC)
                opened.append(fd)
                namespaces.append((flag, fd))
        in_userns = any(flag == _libc.CLONE_NEWUSER for flag, _ in namespaces)
        procs = []
        for directory in cgroups.differing(pid):
            try:
                procs.append(os.open(os.path.join(directory, "cgroup.procs"),
                                     os.O_WRONLY | os.O_CLOEXEC))
            except OSError as exc:
                if cgroups.holds_limits(directory):  # never run unlimited beside PID 1
                    raise Unavailable(f"cannot join the container's cgroup {directory}: "
                                      f"{exc.strerror}") from None
                continue  # a session's cgroup (another terminal's scope): not the container's
            opened.append(procs[-1])
        target = Target(
            pidfd=pidfd, root=root, namespaces=namespaces, cgroup_procs=procs,
            rlimits=parse_limits(confine.read_text(f"{proc}/limits")), in_userns=in_userns,
            full_map=in_userns and _full_map(confine.read_text(f"{proc}/uid_map")),
            setgroups_allowed=not in_userns
            or confine.read_text(f"{proc}/setgroups").strip() == "allow")
        # Still alive, so every fd above is of this PID 1 and not of a process that took its pid.
        signal.pidfd_send_signal(pidfd, 0)
        return target
    except BaseException:
        for fd in (pidfd, *opened):
            os.close(fd)
        raise


def join_namespaces(target: Target) -> None:
    """``setns`` into all of the target's namespaces: at once through the pidfd (5.8+: the
    kernel orders them and the switch is atomic), else one by one, user namespace first."""
    flags = 0
    for flag, _ in target.namespaces:
        flags |= flag
    if not flags:
        return
    try:
        _libc.setns(target.pidfd, flags)
        return
    except OSError:
        pass  # older kernels take only namespace fds
    for _flag, fd in target.namespaces:
        _libc.setns(fd, 0)


def run_exec(spec: ExecSpec, status_fd: int) -> int:
    """In the supervisor: enter the container, fork the exec'd process, supervise it."""
    # Built on the host side: libseccomp is never loaded from the container's files.
    syscall_filter = seccomp.program_for(spec.seccomp, capabilities.DEFAULT)
    target = pin(spec)
    try:
        # Until execve we hold the engine's privileges: no process of the container may ptrace
        # us or open our /proc files meanwhile (the child inherits this).
        _libc.set_dumpable(False)
        join_namespaces(target)
        os.fchdir(target.root)
        os.chroot(".")
        pid = os.fork()
        if pid == 0:  # in the container's PID namespace: the exec'd process
            status = command.ENGINE_ERROR
            try:
                for fd in target.cgroup_procs:  # "0": the writer; only the exec'd process joins
                    os.write(fd, b"0")
                target.close()
                status = confine.exec_confined(
                    spec.argv, spec.env, spec.cwd, spec.user, syscall_filter=syscall_filter,
                    status_fd=status_fd, tty=False, hostname=socket.gethostname(),
                    setgroups_allowed=target.setgroups_allowed,
                    rootless_single=target.in_userns and not target.full_map,
                    rlimits=target.rlimits)
            except BaseException as exc:  # noqa: BLE001 - everything must reach the engine
                _status.send_error(status_fd, exc)
            os._exit(status)
    finally:
        target.close()
    _status.send(status_fd, pid=pid)
    os.close(status_fd)
    return confine.supervise(pid)
