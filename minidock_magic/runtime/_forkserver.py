"""The fork server: ``python -S -m minidock_magic.runtime._forkserver SOCKET_FD``.

A threaded engine (a Jupyter kernel) must never ``fork`` itself, and spawning a fresh interpreter
for every container costs ~60 ms of start-up and imports. So such an engine spawns this small,
single-threaded process once, with the runtime already imported, and asks it to fork one
supervisor per container — ``multiprocessing``'s forkserver pattern. Each request is one
``SOCK_SEQPACKET`` message carrying the container's stdin, stdout, stderr, its status pipe, its
payload pipe and an exit pipe as ``SCM_RIGHTS``, and says the container's *shape*; the reply is
the supervisor's pid. A request whose shape the last one had goes to a spare supervisor made
for it in the meantime (``_spare``: its namespaces and PID 1 ready). The server reaps its
children and writes each supervisor's wait status to its exit pipe, which is how the engine
learns an exit status of a process that is not its child. When the engine goes away (EOF
on the socket) the server exits; running supervisors carry on.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import struct
import sys

from ._init import become_supervisor, warm_up
from ._spare import Spare

#: stdin, stdout, stderr, status pipe, payload pipe, exit pipe.
FDS_PER_REQUEST = 6
STATUS = struct.Struct("i")


def _reap(exit_pipes: dict[int, int]) -> None:
    """Collect every exited child and tell its engine how it ended."""
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = exit_pipes.pop(pid, None)
        if fd is not None:
            try:
                os.write(fd, STATUS.pack(wait_status))
            except OSError:
                pass  # the engine stopped listening
            os.close(fd)


class Spares:
    """At most one spare (``_spare``), of the shape the last request had."""

    def __init__(self) -> None:
        self.spare: Spare | None = None

    def take(self, shape: dict[str, str] | None) -> Spare | None:
        """The spare for a request of ``shape``, if there is one. A request no spare could
        serve (``exec``, limits) leaves it for the next; one of another shape replaces it."""
        if shape is None or self.spare is None:
            return None
        spare, self.spare = self.spare, None
        if spare.shape == shape:
            return spare
        spare.close()
        return None

    def refill(self, shape: dict[str, str] | None) -> None:
        if shape is not None and self.spare is None:
            try:
                self.spare = Spare(shape)
            except OSError:
                pass  # no fork now: the next request forks as ever


def _serve_one(sock: socket.socket, exit_pipes: dict[int, int], spares: Spares) -> bool:
    """Start a supervisor for one request (the spare, if it has the request's shape, else a
    fresh fork); False when the engine has hung up."""
    try:
        message, fds, _flags, _addr = socket.recv_fds(sock, 4096, FDS_PER_REQUEST)
    except ConnectionResetError:
        return False
    if not message:
        return False
    if len(fds) != FDS_PER_REQUEST:
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"error": f"expected {FDS_PER_REQUEST} fds, got {len(fds)}"}).encode())
        return True
    request = json.loads(message)
    stdin, stdout, stderr, status_fd, payload_fd, exit_fd = fds
    shape = request.get("shape")
    spare = spares.take(shape)
    if spare is not None and spare.hand_over(fds[:-1], request["new_session"]):
        pid = spare.pid
        spare.close()
    else:
        try:
            pid = os.fork()
        except OSError as exc:
            sock.send(json.dumps({"error": f"fork failed: {exc.strerror}"}).encode())
            pid = -1
        if pid == 0:
            become_supervisor((stdin, stdout, stderr), status_fd, payload_fd,
                              new_session=request["new_session"])
    for fd in fds[:-1]:
        os.close(fd)
    if pid > 0:
        exit_pipes[pid] = exit_fd
        sock.send(json.dumps({"pid": pid}).encode())
    else:
        os.close(exit_fd)
    spares.refill(shape)  # after the reply: the engine does not wait for it
    return True


def serve(sock: socket.socket) -> None:
    # SIGCHLD only has to wake the loop: a handler plus a wakeup fd, not a reaping thread.
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the engine, which forwards it
    exit_pipes: dict[int, int] = {}
    spares = Spares()
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        ready = {fd for fd, _events in poller.poll()}
        if wake_r in ready:
            while True:
                try:
                    if not os.read(wake_r, 512):
                        break
                except BlockingIOError:
                    break
            _reap(exit_pipes)
        if sock.fileno() in ready and not _serve_one(sock, exit_pipes, spares):
            return


def main(argv: list[str]) -> int:
    warm_up()
    sock = socket.socket(fileno=int(argv[1]))
    os.set_inheritable(sock.fileno(), False)
    serve(sock)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
