"""A six-step Dockerfile, cold (no cache, base image present) and cached, against ``podman build``.

Cold means ``--no-cache`` on a store that already holds busybox, for both: every step is done
again, nothing is pulled. Each round: ours cold (Python API, warm process), podman cold, our CLI
cold (when ``minidock build`` exists), ours cached (API), podman cached, our CLI cached.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minidock_magic.facade import Minidock

from .context import Context, log
from .harness import Row, Target, alternate, not_yet, timed
from .peers import client_env
from .tools import minidock_argv, run_timed

NAME = "build"
CACHED_TARGET = Target("≤ 100 ms", value=0.100)
TAG = "bench/six:1"
DOCKERFILE = """\
FROM busybox
ENV GREETING=hello
WORKDIR /app
COPY data.txt /app/
RUN echo "$GREETING" > /app/greeting.txt
RUN sh -c 'seq 1 1000 > /app/numbers.txt'
CMD ["cat", "/app/greeting.txt"]
"""


def _builder() -> Callable[..., Any] | None:
    try:
        from minidock_magic.build.builder import build
    except ImportError:
        return None
    return build


def _cli_has_build(ctx: Context) -> bool:
    import subprocess
    result = subprocess.run([*minidock_argv(), "build", "--help"], capture_output=True,
                            env=client_env(ctx.workspace), check=False)
    return result.returncode == 0


def _context(ctx: Context) -> Path:
    root = ctx.dir("build-context")
    (root / "Dockerfile").write_text(DOCKERFILE)
    (root / "data.txt").write_text("some data\n" * 100)
    return root


def run(ctx: Context) -> list[Row]:
    build = _builder()
    if build is None:
        return [not_yet("build, cached", "`minidock_magic.build` does not exist yet", CACHED_TARGET)]
    source = _context(ctx)
    engine = Minidock(ctx.copy_busybox_home(ctx.workspace / "build-api-home"))
    cli_home = ctx.copy_busybox_home(ctx.workspace / "build-cli-home")
    env = client_env(ctx.workspace)
    podman = ctx.podman
    podman_build = ["build", "-q", "--pull=never", "--network", "none", *podman.ulimits(), "-t", TAG]

    def api(no_cache: bool) -> float:
        return timed(lambda: build(engine, source, tags=[TAG], no_cache=no_cache, out=io.StringIO()))

    def cli(*flags: str) -> float:
        return run_timed(*minidock_argv(), "--home", str(cli_home), "build", *flags, "-t", TAG,
                         str(source), env=env)

    with_cli = _cli_has_build(ctx)
    cold: list[Callable[[], float]] = [lambda: api(True),
                                       lambda: podman.timed(*podman_build, "--no-cache", str(source))]
    cached: list[Callable[[], float]] = [lambda: api(False),
                                         lambda: podman.timed(*podman_build, str(source))]
    if with_cli:
        cold.append(lambda: cli("--no-cache"))
        cached.append(lambda: cli())
    log(f"build: {ctx.runs} rounds of [ours cold, podman cold{', CLI cold' if with_cli else ''}, "
        f"ours cached, podman cached{', CLI cached' if with_cli else ''}]")
    samples = alternate(cold + cached, ctx.runs, log)  # its warm-up round fills both caches
    half = len(cold)
    api_cold, podman_cold, api_cached, podman_cached = (
        tuple(samples[0]), tuple(samples[1]), tuple(samples[half]), tuple(samples[half + 1]))
    podman_cold_label = "`podman build --no-cache`"
    rows = [
        Row("build (6 steps), cold", "`build.builder.build(no_cache=True)`", podman_cold_label,
            api_cold, podman_cold),
        Row("build (6 steps), cached", "`build.builder.build()` (warm process)", "`podman build`",
            api_cached, podman_cached, target=CACHED_TARGET),
    ]
    if with_cli:
        rows += [
            Row("build (6 steps), cold, CLI", "`minidock build --no-cache`", podman_cold_label,
                tuple(samples[2]), podman_cold),
            Row("build (6 steps), cached, CLI", "`minidock build`", "`podman build`",
                tuple(samples[half + 2]), podman_cached),
        ]
    else:
        rows.append(not_yet("build (6 steps), CLI", "`minidock build` is not a command yet"))
    return rows
