"""The port forwarder: one small process per container with published ports.

``python -m minidock_magic.containers.forwarder OWNER PID START READY_FD FD:PORT...``

It inherits the listening sockets (bound on the host by its owner, the shim), joins the network
namespace of the container's PID 1 (``runtime.netns``: fds the engine opened, never a path a
container chose), and from then on every socket it *creates* is inside that namespace: each
accepted host connection is joined to a new connection to ``127.0.0.1:PORT`` there — the way
rootlesskit's builtin port driver works, with no privileges and no extra binaries. So a
container can only ever be reached on its own ports, and nothing it does can make the forwarder
connect anywhere on the host. It dies with its owner (parent-death signal).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import socket
import sys

CHUNK = 1 << 20
F_SETPIPE_SZ = 1031
SPLICE_FLAGS = os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, *, write: bool) -> None:
    done = loop.create_future()
    add, remove = (loop.add_writer, loop.remove_writer) if write else \
        (loop.add_reader, loop.remove_reader)
    add(fd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        remove(fd)


async def _pipe(loop: asyncio.AbstractEventLoop, src: socket.socket, dst: socket.socket) -> None:
    """Copy ``src`` to ``dst`` until EOF, through a kernel pipe (``splice``: the bytes are never
    copied into this process), then pass the half-close on (HTTP/1.0 clients rely on it)."""
    pipe_r, pipe_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        try:
            fcntl.fcntl(pipe_w, F_SETPIPE_SZ, CHUNK)
        except OSError:  # above the user's pipe-size limit: the default 64 KiB will do
            pass
        pending = 0
        while True:
            if not pending:
                try:
                    pending = os.splice(src.fileno(), pipe_w, CHUNK, flags=SPLICE_FLAGS)
                except BlockingIOError:
                    await _ready(loop, src.fileno(), write=False)
                    continue
                if not pending:
                    break
            try:
                pending -= os.splice(pipe_r, dst.fileno(), pending, flags=SPLICE_FLAGS)
            except BlockingIOError:
                await _ready(loop, dst.fileno(), write=True)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    finally:
        os.close(pipe_r)
        os.close(pipe_w)


async def _join(client: socket.socket, port: int) -> None:
    loop = asyncio.get_running_loop()
    inside = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # made in the container's netns
    inside.setblocking(False)
    try:
        try:
            await loop.sock_connect(inside, ("127.0.0.1", port))
        except OSError:
            return  # nothing listens in the container: the client sees its connection close
        for sock in (client, inside):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(_pipe(loop, client, inside), _pipe(loop, inside, client))
    finally:
        inside.close()
        client.close()


async def _accept(listener: socket.socket, port: int) -> None:
    loop = asyncio.get_running_loop()
    listener.setblocking(False)
    tasks: set[asyncio.Task[None]] = set()
    while True:
        client, _ = await loop.sock_accept(listener)
        client.setblocking(False)
        task = asyncio.create_task(_join(client, port))
        tasks.add(task)  # keep a reference until done
        task.add_done_callback(tasks.discard)


async def serve(routes: list[tuple[socket.socket, int]]) -> None:
    await asyncio.gather(*(_accept(listener, port) for listener, port in routes))


def main(argv: list[str]) -> int:
    from ..runtime import netns
    from ..runtime._libc import set_parent_death_signal
    owner, pid, start, ready_fd = (int(a) for a in argv[:4])
    set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != owner:  # the owner died before we could ask to die with it
        return 1
    routes = []
    for item in argv[4:]:
        fd, _, port = item.partition(":")
        routes.append((socket.socket(fileno=int(fd)), int(port)))
    try:
        netns.make_undumpable()
        with netns.opened(pid, start) as namespaces:
            netns.enter(namespaces)
    except Exception as exc:  # noqa: BLE001 - one line to the owner, not a traceback
        os.write(ready_fd, str(exc).encode())
        return 1
    os.close(ready_fd)  # EOF with nothing written: forwarding
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    asyncio.run(serve(routes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
