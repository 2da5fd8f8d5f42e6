"""The supervisor: what a freshly forked child does to start one container.

The engine may live in a threaded process (a Jupyter kernel), where ``fork`` without ``exec``
is unsafe, so the child comes either from the engine itself when it has exactly one thread, or
from the fork server (``_forkserver``), a small single-threaded interpreter the engine spawns
once. ``become_supervisor`` takes the container's stdio, reads the spec (JSON) from its payload
pipe, joins the container's cgroups, ``unshare``s the namespaces (mapping ids when it enters a
user namespace), and forks once: that child is PID 1 of the new PID namespace. The child mounts
the rootfs, ``pivot_root``s and takes the container's confinement (``confine``: capabilities,
user, ``no_new_privs``, seccomp) before it ``execve``s the user's program, which therefore *is*
PID 1 — as in ``docker run`` without ``--init``: it gets no default signal
handling from the kernel and must reap its own children. The supervisor stays outside: it
forwards signals to the container, waits, and exits with docker's status (the code, or
128+signal). A setup failure is sent as one JSON line on the status pipe, which the engine
raises; 125 is then the exit status. An ``exec`` payload takes ``enter.run_exec`` instead:
the same supervision, around a process that joins a running container.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
from typing import Any, NoReturn

from ..errors import Unavailable
from . import (
    _libc,
    _status,
    capabilities,
    cgroups,
    command,
    confine,
    enter,
    etcfiles,
    idmap,
    netns,
    rootfs,
    seccomp,
)
from .spec import ExecSpec, Isolation, ProcessSpec

def exec_in_container(spec: ProcessSpec, status_fd: int, *, in_userns: bool,
                      full_map: bool, syscall_filter: bytes | None,
                      loopback_up: bool = False) -> int:
    """The container's PID 1 before ``execve``; returns only a docker status (126/127).
    ``loopback_up``: its network namespace's ``lo`` is up already (a spare's)."""
    _libc.set_parent_death_signal(signal.SIGKILL)  # never outlive the supervisor
    if not spec.tty:
        os.setsid()
    hostname = spec.hostname or etcfiles.DEFAULT_HOSTNAME
    rootfs.prepare(spec, in_user_namespace=in_userns, hostname=hostname)
    socket.sethostname(hostname)
    if spec.network == "none" and not loopback_up:
        _libc.interface_up("lo")
    rootfs.enter(spec)
    return confine.exec_confined(
        spec.argv, spec.env, spec.cwd, spec.user, syscall_filter=syscall_filter,
        status_fd=status_fd, tty=spec.tty, hostname=hostname,
        setgroups_allowed=full_map or not in_userns, rootless_single=in_userns and not full_map)


def run_namespaces(spec: ProcessSpec, isolation: Isolation, status_fd: int) -> int:
    # Built out here: libseccomp is loaded from the host, never from the container's files.
    syscall_filter = seccomp.program_for(spec.seccomp, capabilities.DEFAULT)
    in_userns, full_map = enter_namespaces(isolation, spec.network)
    pid = os.fork()
    if pid == 0:  # PID 1 of the new PID namespace
        status = command.ENGINE_ERROR
        try:
            status = exec_in_container(spec, status_fd, in_userns=in_userns, full_map=full_map,
                                       syscall_filter=syscall_filter)
        except BaseException as exc:  # noqa: BLE001 - everything must reach the engine
            _status.send_error(status_fd, exc)
        os._exit(status)
    _status.send(status_fd, pid=pid)
    os.close(status_fd)
    return confine.supervise(pid)


def enter_namespaces(isolation: Isolation, network: str) -> tuple[bool, bool]:
    """Move this process into the container's new namespaces (its children get the new PID
    namespace); whether that includes a user namespace, and whether its map is full."""
    if isolation is Isolation.NAMESPACES and os.geteuid() != 0:
        from .probe import choose
        raise Unavailable(f"isolation=namespaces needs root; use {choose('rootless')}")
    in_userns = isolation is Isolation.ROOTLESS
    flags = _libc.CLONE_NEWNS | _libc.CLONE_NEWPID | _libc.CLONE_NEWUTS | _libc.CLONE_NEWIPC
    if network == "none":
        flags |= _libc.CLONE_NEWNET
    full_map = False
    joined = netns.join_for(network)  # --network container:NAME
    if joined is not None:
        netns.enter(joined)  # its user namespace (a rootless one's), then its network
    if in_userns:
        plan = idmap.plan_for_containers()
        full_map = plan.full
    if in_userns and (joined is None or joined.user is None):
        idmap.enter_user_namespace(flags, plan)
    else:
        try:
            _libc.unshare(flags)
        except OSError as exc:
            from .probe import choose
            raise Unavailable(f"this host refuses new namespaces ({exc.strerror}); "
                              f"use {choose('rootless')}, or {choose('proot')}") from None
    return in_userns, full_map


def run_payload(payload: dict[str, Any], status_fd: int) -> int:
    try:
        if "exec" in payload:
            return enter.run_exec(ExecSpec.from_dict(payload["exec"]), status_fd)
        spec = ProcessSpec.from_dict(payload["spec"])
        isolation = Isolation(payload["isolation"])
        cgroups.join(payload["cgroups"], os.getpid())
        if isolation is Isolation.PROOT:
            from ._proot import run_proot
            return run_proot(spec, status_fd)
        return run_namespaces(spec, isolation, status_fd)
    except Exception as exc:  # noqa: BLE001 - the engine must get one line, not a traceback
        _status.send_error(status_fd, exc)
        return command.ENGINE_ERROR


def warm_up() -> None:
    """Work every container start would repeat, done once in the process that forks the
    supervisors (the fork server), so each container inherits it done: the default seccomp
    filter compiled (a missing libseccomp is reported by the container's start), the
    kernel's last capability read and, for a user without privileges, the id mapping planned."""
    _libc.last_capability()
    if os.geteuid() != 0:
        idmap.plan_for_containers()
    try:
        seccomp.builtin_program(capabilities.DEFAULT)
    except Unavailable:
        pass


def install_stdio(stdio: tuple[int, int, int], keep: tuple[int, ...]) -> list[int]:
    """Make ``stdio`` fds 0-2 and close every other fd but ``keep``, returned renumbered and
    close-on-exec (the status pipe's EOF at ``execve`` tells the engine the program runs)."""
    # Lift every fd above 2 first, so no dup2 onto 0-2 can overwrite a source still needed.
    lifted = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in (*stdio, *keep)]
    for target, fd in enumerate(lifted[:3]):
        os.dup2(fd, target)  # inheritable: the container's stdio
    # Everything else goes, the parent's copies of the payload pipe's write end included:
    # reading the payload to EOF needs every write end closed.
    confine.close_fds_except(*lifted[3:])
    return lifted[3:]


def become_supervisor(stdio: tuple[int, int, int], status_fd: int, payload_fd: int, *,
                      new_session: bool) -> NoReturn:
    """In a freshly forked child of a single-threaded process: start the container, supervise
    it, and exit with its status. Never returns into the caller's code."""
    status = command.ENGINE_ERROR
    try:
        signal.set_wakeup_fd(-1)  # the fork server's; its loop is not ours
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if new_session:  # a terminal's Ctrl-C reaches the engine, which forwards it
            os.setsid()
        status_fd, payload_fd = install_stdio(stdio, (status_fd, payload_fd))
        with open(payload_fd, "rb") as payload_file:
            payload = json.loads(payload_file.read())
        status = run_payload(payload, status_fd)
    except BaseException as exc:  # noqa: BLE001 - nothing may unwind into the parent's code
        _status.send_error(status_fd, exc)
    finally:
        os._exit(status)
