"""The fork server's spare: the next container's supervisor and PID 1, made before it is asked for.

Most of a container start that comes before its spec matters is the same every time: fork a
supervisor, ``unshare`` the namespaces (in a rootless one, map the ids with newuidmap and
newgidmap), fork PID 1 in the new PID namespace. So once a container of some *shape* (isolation,
network ``none`` or ``host``, no cgroup limits) has been asked for, the fork server makes one
spare of that shape in the background (its network namespace's ``lo`` up, when it has its own),
and hands the next request of the same shape to it: PID 1 gets the request's fds straight from
the server (a socket it inherited through the supervisor, so no hop through the supervisor
delays it), while the supervisor gets the status pipe and reports PID 1's pid on it; PID 1
reads the spec and goes on exactly as an ordinary one (``_init.exec_in_container``): the same
mounts, confinement and ``execve``, in namespaces as fresh as ever — nobody has used them.

Anything else (another shape, ``exec``, limits, ``--network container:``) takes the ordinary
path. A spare waits with nothing mounted and no container data; it goes when its fork server
does (EOF on its socket), its PID 1 with it (parent-death signal).
"""

from __future__ import annotations

import json
import os
import signal
import socket
from typing import Any, NoReturn

from . import _init, _libc, _status, capabilities, command, confine, seccomp
from .spec import Isolation, ProcessSpec

#: stdin, stdout, stderr, status pipe, payload pipe: what a spare's PID 1 needs.
FDS = 5
#: Where the status pipe is among them: all the supervisor needs.
STATUS_FD = 3


def shape_of(isolation: Isolation, network: str, limited: bool) -> dict[str, str] | None:
    """What a spare for this container must have been made as; None: no spare can serve it.

    >>> shape_of(Isolation.NAMESPACES, "none", False)
    {'isolation': 'namespaces', 'network': 'none'}
    >>> shape_of(Isolation.PROOT, "none", False), shape_of(Isolation.ROOTLESS, "host", True)
    (None, None)
    """
    if limited or network not in ("none", "host") or \
            isolation not in (Isolation.NAMESPACES, Isolation.ROOTLESS):
        return None
    return {"isolation": isolation.value, "network": network}


class Spare:
    """The fork server's handle on one spare (made by forking the server)."""

    def __init__(self, shape: dict[str, str]) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours_pid1, theirs_pid1 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            ours.close()
            ours_pid1.close()
            _become_spare(theirs, theirs_pid1, shape)
        theirs.close()
        theirs_pid1.close()
        self.pid, self.shape, self._sock, self._pid1_sock = pid, shape, ours, ours_pid1

    def hand_over(self, fds: list[int], new_session: bool) -> bool:
        """Give the spare a request's ``FDS`` fds (PID 1 first: it has the work to do, the
        supervisor only reports); False if it is gone (take another way)."""
        try:
            socket.send_fds(self._pid1_sock, [b"go"], fds)
            socket.send_fds(self._sock, [json.dumps({"new_session": new_session}).encode()],
                            [fds[STATUS_FD]])
            return True
        except OSError:
            return False

    def close(self) -> None:
        self._sock.close()  # EOF: an unused spare goes, its PID 1 with it
        self._pid1_sock.close()


def _become_spare(sock: socket.socket, pid1_sock: socket.socket,
                  shape: dict[str, str]) -> NoReturn:
    """In a fresh child of the fork server: the supervisor half of a spare."""
    status = command.ENGINE_ERROR
    pid = 0
    try:
        signal.set_wakeup_fd(-1)  # the fork server's; its loop is not ours
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        confine.close_fds_except(sock.fileno(), pid1_sock.fileno())
        in_userns, full_map = _init.enter_namespaces(Isolation(shape["isolation"]),
                                                     shape["network"])
        if shape["network"] == "none":  # its own, fresh network namespace: lo up ahead
            _libc.interface_up("lo")
        pid = os.fork()
        if pid == 0:  # PID 1 of the new PID namespace
            sock.close()
            _pid1(pid1_sock, shape, in_userns=in_userns, full_map=full_map)
        pid1_sock.close()
        message, fds, _flags, _addr = socket.recv_fds(sock, 4096, 1)
        sock.close()
        if not message or len(fds) != 1:  # the fork server went away: nothing to start
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os._exit(0)
        if json.loads(message)["new_session"]:
            os.setsid()
        # The status pipe reaches EOF (the program runs) only once this copy is closed too, so
        # the engine always has the pid by then.
        _status.send(fds[0], pid=pid)
        os.close(fds[0])
        status = confine.supervise(pid)
    except BaseException as exc:  # noqa: BLE001 - nothing may unwind into the server's code
        if os.environ.get("MINIDOCK_DEBUG"):  # a spare that fails is only a missed shortcut
            import traceback
            traceback.print_exception(exc)
        if pid > 0:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    os._exit(status)


def _pid1(sock: socket.socket, shape: dict[str, str], *, in_userns: bool,
          full_map: bool) -> NoReturn:
    """A spare's PID 1: wait for the request's fds, then become the container."""
    _libc.set_parent_death_signal(signal.SIGKILL)  # never outlive the supervisor
    try:
        message, fds, _flags, _addr = socket.recv_fds(sock, 64, FDS)
    except OSError:
        os._exit(0)
    sock.detach()  # the fd is install_stdio's to close, not the object's
    if not message or len(fds) != FDS:
        os._exit(0)
    status, status_fd = command.ENGINE_ERROR, fds[STATUS_FD]
    try:
        status_fd, payload_fd = _init.install_stdio((fds[0], fds[1], fds[2]), (fds[3], fds[4]))
        with open(payload_fd, "rb") as payload_file:
            payload: dict[str, Any] = json.loads(payload_file.read())
        spec = ProcessSpec.from_dict(payload["spec"])
        if shape_of(Isolation(payload["isolation"]), spec.network,
                    bool(payload["cgroups"])) != shape:
            raise AssertionError(f"a spare made as {shape} was given {payload['isolation']}, "
                                 f"network {spec.network}")
        # Still the host's tree: libseccomp is loaded from the host, never from the container.
        syscall_filter = seccomp.program_for(spec.seccomp, capabilities.DEFAULT)
        status = _init.exec_in_container(spec, status_fd, in_userns=in_userns,
                                         full_map=full_map, syscall_filter=syscall_filter,
                                         loopback_up=True)
    except BaseException as exc:  # noqa: BLE001 - everything must reach the engine
        _status.send_error(status_fd, exc)
    os._exit(status)
