"""Container start: ``run --rm busybox true`` from the CLI, from a warm Python process, and the floor.

Every round runs, in order: our CLI, podman's CLI, our Python API (this process, warm) with one
thread and with two, and ``unshare … --root=ROOTFS /bin/true`` — the namespaces and chroot
alone, no engine at all. The two warm rows take the runtime's two ways: a single-threaded process
forks the container's supervisor itself, a threaded one (every Jupyter kernel) asks its fork
server. One untimed warm-up round comes first (the first run of a home unpacks busybox).
"""

from __future__ import annotations

import subprocess
import threading

from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock

from .context import Context, log
from .harness import Measure, Row, Target, alternate, timed
from .peers import client_env
from .tools import minidock_argv, need, run_timed

NAME = "container_start"
CLI_TARGET = Target("≤ 0.2× podman", ratio=0.2)
API_TARGET = Target("≤ 15 ms", value=0.015)


def run(ctx: Context) -> list[Row]:
    home = ctx.copy_busybox_home(ctx.workspace / "start-cli-home")
    env = client_env(ctx.workspace)
    ours_cli = [*minidock_argv(), "--home", str(home), "run", "--rm", "busybox", "true"]
    podman = ctx.podman
    podman_cli = podman.argv("run", "--rm", *podman.ulimits(), "busybox", "true")
    engine = Minidock(ctx.copy_busybox_home(ctx.workspace / "start-api-home"))
    rootfs = engine.unpack("busybox", ctx.dir("start-rootfs"))
    floor = [need("unshare"), "--mount", "--pid", "--fork", "--uts", "--ipc", "--net",
             f"--root={rootfs}", "/bin/true"]

    def api() -> None:
        _, code = engine.containers.run(
            "busybox", RunOptions(command=["true"], auto_remove=True),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if code != 0:
            raise RuntimeError(f"engine.containers.run(busybox true) exited {code}")

    measures: list[Measure] = [lambda: run_timed(*ours_cli, env=env), lambda: run_timed(*podman_cli),
                               lambda: timed(api), _with_a_second_thread(lambda: timed(api)),
                               lambda: run_timed(*floor)]
    log(f"container start: {ctx.runs} rounds of [minidock CLI, podman CLI, Python API with one "
        "thread and with two, unshare floor]")
    cli, peer, warm, threaded, bare = alternate(measures, ctx.runs, log)
    return [
        Row("container start, CLI process", "`minidock run --rm busybox true`",
            "`podman run --rm busybox true`", tuple(cli), tuple(peer), target=CLI_TARGET),
        Row("container start, warm Python process", "`engine.containers.run(busybox, true)`",
            "`podman run --rm busybox true`", tuple(warm), tuple(peer), target=API_TARGET),
        Row("container start, warm threaded process (as a Jupyter kernel: fork server)",
            "`engine.containers.run(busybox, true)`", "`podman run --rm busybox true`",
            tuple(threaded), tuple(peer), target=API_TARGET),
        Row("container start, floor", "`engine.containers.run(busybox, true)`",
            "`unshare -mpfuin --root=ROOTFS /bin/true`", tuple(warm), tuple(bare)),
    ]


def _with_a_second_thread(measure: Measure) -> Measure:
    """``measure`` while another thread lives, so the runtime must not fork this process."""
    def threaded() -> float:
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait)
        thread.start()
        try:
            return measure()
        finally:
            stop.set()
            thread.join()
    return threaded
