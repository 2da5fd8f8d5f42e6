"""A published port: throughput and connection latency through ``-p``, ours against podman's.

Both sides run the same busybox ``httpd`` in a container with its own network namespace,
published on 127.0.0.1: ours through the forwarder (a process that joined the container's
namespace, as rootlesskit's builtin port driver), podman's with its default for the user running
it — as root (CI), the CNI bridge with the portmap plugin: kernel DNAT, no user-space copy at
all. (Rootless podman would need slirp4netns or pasta for ``-p``, which this host lacks.) A
third server on the host's own network (``--network host``) is the floor: no forwarding.

- throughput: one GET of a file of zeros (64 MiB, 4 MiB with ``--quick``), read to the end;
- latency: a new connection, ``GET /`` of a tiny page, read, close — the mean of 50 in a row.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import time
from collections.abc import Callable

from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock

from .context import Context, log
from .harness import Row, Target, alternate
from .tools import free_port, wait_until

NAME = "published_ports"
REQUESTS = 50
THROUGHPUT_TARGET = Target("≤ 3× podman", ratio=3.0)
LATENCY_TARGET = Target("≤ 2× podman", ratio=2.0)


def serve_command(size_mib: int, port: int = 80) -> list[str]:
    return ["sh", "-c", (f"mkdir -p /www && echo hi > /www/index.html && "
                         f"dd if=/dev/zero of=/www/big bs=1M count={size_mib} 2>/dev/null && "
                         f"exec httpd -f -p {port} -h /www")]


def get(port: int, path: str) -> int:
    """One GET on a new connection, body read to the end; the bytes read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        buffer, total = bytearray(1 << 20), 0
        while read := answer.readinto(buffer):
            total += read
        if answer.status != 200:
            raise RuntimeError(f"GET {path} on port {port}: {answer.status}")
        return total
    finally:
        connection.close()


def answers(port: int) -> bool:
    try:
        return get(port, "/") > 0
    except OSError:
        return False


def throughput(port: int, size: int) -> Callable[[], float]:
    def measure() -> float:
        started = time.perf_counter()
        if get(port, "/big") != size:
            raise RuntimeError(f"short read through port {port}")
        return time.perf_counter() - started
    return measure


def latency(port: int) -> Callable[[], float]:
    def measure() -> float:
        started = time.perf_counter()
        for _ in range(REQUESTS):
            get(port, "/")
        return (time.perf_counter() - started) / REQUESTS
    return measure


def run(ctx: Context) -> list[Row]:
    size_mib = 4 if ctx.quick else 64
    engine = Minidock(ctx.copy_busybox_home(ctx.workspace / "ports-home"))
    engine.containers.run("busybox", RunOptions(command=serve_command(size_mib), name="web",
                                                publish=["127.0.0.1::80"]), detach=True)
    ours = int(engine.containers.port("web", "80")[0].rsplit(":", 1)[1])
    floor = free_port()
    engine.containers.run("busybox", RunOptions(command=serve_command(size_mib, floor),
                                                name="floor", network="host"), detach=True)
    podman = ctx.podman
    theirs = free_port()
    podman("run", "-d", "--name", "minidock-bench-web", *podman.ulimits(), "-p",
           f"127.0.0.1:{theirs}:80", "busybox", *serve_command(size_mib))
    try:
        for port, what in ((ours, "ours"), (theirs, "podman's"), (floor, "host network")):
            wait_until(lambda port=port: answers(port), f"{what} web server on {port}")
        size = size_mib << 20
        log(f"published ports: {ctx.runs} rounds of [GET {size_mib} MiB ours, podman, host "
            f"network], then [{REQUESTS} new connections ours, podman, host network]")
        fast = alternate([throughput(ours, size), throughput(theirs, size),
                          throughput(floor, size)], ctx.runs, log)
        quick = alternate([latency(ours), latency(theirs), latency(floor)], ctx.runs, log)
    finally:
        subprocess.run(podman.argv("rm", "-f", "-t", "0", "minidock-bench-web"),
                       capture_output=True, check=False)
        for name in ("web", "floor"):
            engine.containers.remove(name, force=True)
    mib = f"{size_mib} MiB"
    ours_label = "`minidock run -p 127.0.0.1::80` (forwarder in the container's netns)"
    peer_label = "`podman run -p` as root (CNI portmap: kernel DNAT)"
    note = f"throughput ours {size / statistics.median(fast[0]) / 2**20:.0f} MiB/s, podman " \
           f"{size / statistics.median(fast[1]) / 2**20:.0f} MiB/s, host network " \
           f"{size / statistics.median(fast[2]) / 2**20:.0f} MiB/s"
    return [
        Row(f"published port, GET {mib}", ours_label, peer_label, tuple(fast[0]), tuple(fast[1]),
            target=THROUGHPUT_TARGET, note=note),
        Row("published port, new connection + GET /", ours_label, peer_label, tuple(quick[0]),
            tuple(quick[1]), target=LATENCY_TARGET),
        Row(f"published port vs no forwarding, GET {mib}", ours_label,
            "the same httpd on `--network host`", tuple(fast[0]), tuple(fast[2])),
        Row("published port vs no forwarding, new connection + GET /", ours_label,
            "the same httpd on `--network host`", tuple(quick[0]), tuple(quick[2])),
    ]

