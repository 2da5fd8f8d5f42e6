"""Container start: ``run --rm busybox true`` from the CLI, from a warm Python process, and the floor.

Like with like: our container gets new mount, PID, UTS, IPC and network namespaces with only
``lo`` in the network one, so the peer is ``podman run --rm --network none``. podman's default
(a bridge network: netavark, firewall rules) does more work; it is kept as an extra row, labelled.

Every round runs, in order: our CLI as a user gets it (bytecode cached, writing allowed), our CLI
with ``PYTHONDONTWRITEBYTECODE=1`` and no cached bytecode for the package (as this development
environment runs it: the package compiled at every start), podman with ``--network none``, podman
with its default network, our Python API (this process, warm) with one thread and with two, the
API in its parts (create / runtime / remove: what the container costs against the bookkeeping
around it), and ``unshare … --root=ROOTFS /bin/true`` — the namespaces and chroot alone, no engine
at all. One untimed warm-up round comes first (the first run of a home unpacks busybox).
"""

from __future__ import annotations

import subprocess
import threading
import time

from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock

from .context import Context, log, no_bytecode_env
from .harness import Measure, Row, Target, alternate, timed
from .peers import client_env
from .tools import cpu_seconds, minidock_argv, need, run_timed

NAME = "container_start"
CLI_TARGET = Target("≤ 0.5× podman", ratio=0.5)
API_TARGET = Target("≤ 15 ms", value=0.015)
RUN = ("run", "--rm", "busybox", "true")
#: Containers started one after another for the back-to-back row.
BURST = 5
PODMAN_NONE = "`podman run --rm --network none busybox true`"


class _Parts:
    """``engine.containers.run(--rm)`` taken apart: the same calls ``Containers.run`` makes, each
    timed — create (image lookup, container record, snapshot prepare), the runtime alone (spec →
    supervisor → namespaces, mounts, exec → exit status), the state records around it
    (running / exited) and remove (snapshot and record)."""

    def __init__(self, engine: Minidock) -> None:
        self.engine = engine
        self.samples: dict[str, list[float]] = {"create": [], "runtime": [], "state records": [],
                                                "remove": []}
        self.cpu: dict[str, list[float]] = {part: [] for part in self.samples}

    def __call__(self) -> float:
        from minidock_magic.containers.lifecycle import process_spec
        from minidock_magic.runtime import start
        containers = self.engine.containers
        lifecycle = containers.lifecycle
        wall, cpu = [time.perf_counter()], [cpu_seconds()]

        def tick() -> None:
            wall.append(time.perf_counter())
            cpu.append(cpu_seconds())

        config = containers.create("busybox", RunOptions(command=["true"], auto_remove=True))
        tick()
        process = start(process_spec(config, lifecycle.mounts_of(config)),
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tick()
        lifecycle.mark_running(config, process.pid)
        tick()
        code = process.wait()
        tick()
        lifecycle.mark_exited(config, code)
        tick()
        containers.remove(config.id, force=True)
        tick()
        if code != 0:
            raise RuntimeError(f"busybox true exited {code}")
        for clock, into in ((wall, self.samples), (cpu, self.cpu)):
            t0, t1, t2, t3, t4, t5, t6 = clock
            for part, seconds in (("create", t1 - t0), ("runtime", (t2 - t1) + (t4 - t3)),
                                  ("state records", (t3 - t2) + (t5 - t4)), ("remove", t6 - t5)):
                into[part].append(seconds)
        return wall[-1] - wall[0]

    def medians_ms(self, skip: int) -> dict[str, float]:
        """Each part's median in ms, the warm-up round (``skip`` samples) left out."""
        import statistics
        return {part: round(statistics.median(s[skip:]) * 1000, 2)
                for part, s in self.samples.items() if s[skip:]}


def run(ctx: Context) -> list[Row]:
    home = ctx.copy_busybox_home(ctx.workspace / "start-cli-home")
    env = client_env(ctx.workspace)
    cold_env = no_bytecode_env(env)
    ours_cli = [*minidock_argv(), "--home", str(home), *RUN]
    podman = ctx.podman
    podman_none = podman.argv("run", "--rm", "--network", "none", *podman.ulimits(), "busybox", "true")
    podman_bridge = podman.argv("run", "--rm", *podman.ulimits(), "busybox", "true")
    engine = Minidock(ctx.copy_busybox_home(ctx.workspace / "start-api-home"))
    parts = _Parts(Minidock(ctx.copy_busybox_home(ctx.workspace / "start-parts-home")))
    rootfs = engine.unpack("busybox", ctx.dir("start-rootfs"))
    floor = [need("unshare"), "--mount", "--pid", "--fork", "--uts", "--ipc", "--net",
             f"--root={rootfs}", "/bin/true"]

    def api() -> None:
        _, code = engine.containers.run(
            "busybox", RunOptions(command=["true"], auto_remove=True),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if code != 0:
            raise RuntimeError(f"engine.containers.run(busybox true) exited {code}")

    def back_to_back() -> float:
        return timed(lambda: [api() for _ in range(BURST)]) / BURST

    measures: list[Measure] = [
        lambda: run_timed(*ours_cli, env=env), lambda: run_timed(*ours_cli, env=cold_env),
        lambda: run_timed(*podman_none), lambda: run_timed(*podman_bridge),
        lambda: timed(api), _with_a_second_thread(lambda: timed(api)), back_to_back, parts,
        lambda: run_timed(*floor)]
    log(f"container start: {ctx.runs} rounds of [minidock CLI (bytecode cached), minidock CLI "
        "(PYTHONDONTWRITEBYTECODE=1), podman --network none, podman (default network), Python API "
        f"with one thread and with two, the API {BURST} times back to back, the API in parts, "
        "unshare floor]")
    cli, cold, peer, bridge, warm, threaded, burst, whole, bare = alternate(measures, ctx.runs, log)
    split = parts.medians_ms(skip=1)
    split_note = ("median ms: " + ", ".join(f"{k} {v}" for k, v in split.items())
                  + f"; container setup = runtime {split.get('runtime', 0)} ms, bookkeeping = the rest "
                  f"{round(sum(v for k, v in split.items() if k != 'runtime'), 2)} ms")
    cli_label = "`minidock run --rm busybox true`"
    return [
        Row("container start, CLI process, bytecode cached (what a user gets: pip compiles it, "
            "Python may write it)", cli_label, PODMAN_NONE, tuple(cli), tuple(peer),
            target=CLI_TARGET),
        Row("container start, CLI process, PYTHONDONTWRITEBYTECODE=1 and no cached bytecode for "
            "the package (this development environment)", cli_label, PODMAN_NONE, tuple(cold),
            tuple(peer), target=CLI_TARGET),
        Row("container start, CLI process — extra, not like with like: podman's default bridge "
            "network (netavark, firewall rules) against our network namespace with only lo",
            cli_label, "`podman run --rm busybox true`", tuple(cli), tuple(bridge)),
        Row("container start, warm Python process", "`engine.containers.run(busybox, true)`",
            PODMAN_NONE, tuple(warm), tuple(peer), target=API_TARGET),
        Row("container start, warm threaded process (as a Jupyter kernel: fork server)",
            "`engine.containers.run(busybox, true)`", PODMAN_NONE,
            tuple(threaded), tuple(peer), target=API_TARGET),
        # The rows above find the next container's namespaces made ahead (the fork server's
        # spare, made while a notebook sits idle); here nothing is idle, so each start pays for
        # the spare the next one takes.
        Row(f"container start, warm process, {BURST} back to back (per container; the spare made "
            "ahead for the next one is paid here)", "`engine.containers.run(busybox, true)`",
            PODMAN_NONE, tuple(burst), tuple(peer)),
        Row("container start, warm process in parts", "create + runtime + state + remove",
            PODMAN_NONE, tuple(whole), tuple(peer), note=split_note,
            extra={f"{k} ms": v for k, v in split.items()}),
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
