"""Publishing a container's ports: bind on the host, then hand the sockets to a forwarder.

The owner of a running container (its shim, or the process running it attached) binds every
published port *before* the container starts, so a port in use or a privileged port fails the
start with one line and nothing running. Once PID 1 exists, a forwarder process
(``containers.forwarder``) takes the sockets and joins the container's network namespace; the
owner closes its own copies, so when the forwarder goes (stop, kill, rm, or its owner's death
through the parent-death signal) the port is free again at once.

Where the container shares the host's network (``--network host``, proot), nothing is mapped:
the program's own listening socket *is* the published port. Then only ``-p N:N`` is honest; it
is checked free and shown, and any other mapping is refused.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from ..errors import Conflict, InvalidArgument, MinidockError
from .publish import PortBinding, as_host_ports

FORWARDER_READY_TIMEOUT = 20.0


def _unprivileged_port_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def listen(binding: PortBinding) -> tuple[socket.socket, PortBinding]:
    """A listening socket for ``binding``, and the binding with its actual host port."""
    family = socket.AF_INET6 if ":" in binding.host_ip else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((binding.host_ip, binding.host_port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise _bind_error(binding, exc) from None
    actual = sock.getsockname()[1]
    return sock, PortBinding(binding.host_ip, actual, binding.container_port, binding.protocol)


def _bind_error(binding: PortBinding, exc: OSError) -> MinidockError:
    where = f"{binding.host_ip}:{binding.host_port}"
    if exc.errno == errno.EADDRINUSE:
        return Conflict(f"Bind for {where} failed: port is already allocated")
    if exc.errno == errno.EACCES and binding.host_port < _unprivileged_port_start():
        return InvalidArgument(
            f"cannot publish privileged port {binding.host_port} as a non-root user: choose a "
            f"port >= {_unprivileged_port_start()} (or lower net.ipv4.ip_unprivileged_port_start)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return InvalidArgument(f"Bind for {where} failed: {binding.host_ip} is not an address "
                               "of this host")
    return MinidockError(f"Bind for {where} failed: {exc.strerror}")


def listen_all(bindings: list[PortBinding]) -> list[tuple[socket.socket, PortBinding]]:
    opened: list[tuple[socket.socket, PortBinding]] = []
    try:
        for binding in bindings:
            opened.append(listen(binding))
    except BaseException:
        close(opened)
        raise
    return opened


def close(opened: list[tuple[socket.socket, PortBinding]]) -> None:
    for sock, _ in opened:
        sock.close()


def check_shared_network(bindings: list[PortBinding], why: str) -> list[PortBinding]:
    """``-p`` for a container on the host's network: only ``N:N``, and only if N is free now."""
    bindings = as_host_ports(bindings, why)
    close(listen_all(bindings))  # refused now, clearly, rather than by the program later
    return bindings


class Forwarder:
    """The running forwarder process for one container."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self._stopping = False

    @classmethod
    def start(cls, opened: list[tuple[socket.socket, PortBinding]], pid: int,
              pid_start: int) -> Forwarder:
        """Hand the listening sockets to a new forwarder for PID 1 ``pid``; returns once it
        is inside the container's network namespace (or raises its one-line error)."""
        ready_r, ready_w = os.pipe()
        fds = [sock.fileno() for sock, _ in opened]
        routes = [f"{sock.fileno()}:{b.container_port}" for sock, b in opened]
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "minidock_magic.containers.forwarder", str(os.getpid()),
                 str(pid), str(pid_start), str(ready_w), *routes],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(ready_w, *fds), close_fds=True)
        finally:
            os.close(ready_w)
            close(opened)  # the forwarder holds the only copies now
        with os.fdopen(ready_r, "rb") as ready:
            message = ready.read().decode(errors="replace")
        if message or process.poll() not in (None, 0):
            process.kill()
            process.wait()
            raise MinidockError(f"cannot forward published ports: {message or 'the forwarder died'}")
        return cls(process)

    def when_lost(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` (from a watching thread) if the forwarder dies while the container
        still runs — killed or out of memory — so the record stops showing dead ports."""
        def watch() -> None:
            self.process.wait()
            if not self._stopping:
                callback()
        threading.Thread(target=watch, name="forwarder-watch", daemon=True).start()

    def stop(self) -> None:
        self._stopping = True
        self.process.kill()
        self.process.wait()
