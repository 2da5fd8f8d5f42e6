"""Profiles of our side of a benchmark: ``python -m benchmarks.profile WHAT [--quick]``.

WHAT is one of ``start-cli``, ``start-api``, ``push``, ``pull`` (our client, CLI process, against
docker-registry) or ``serve-push``, ``serve-pull`` (our registry process while skopeo talks to
it). Python code is profiled with pyinstrument; the registry process is sampled with py-spy
(it serves from an event loop plus worker threads, which pyinstrument cannot follow).
Neither is a project dependency: ``pip install pyinstrument py-spy`` first.
"""

from __future__ import annotations

import argparse
import collections
import signal
import subprocess
import sys
import time

from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock

from .context import Context, log
from .images import BIG
from .peers import DockerRegistry, OurRegistry, client_env, skopeo
from .tools import minidock_argv, remove_tree
from .tools import run as check_output

WHATS = ("start-cli", "start-api", "push", "pull", "serve-push", "serve-pull")
#: Frames every request passes through; hiding them leaves the ones that differ.
PLUMBING = ("_bootstrap", "run_forever", "_run_once", "Handle._run", "run_asgi", "Middleware",
            "Starlette.__call__", "Router", "Route.handle", "request_response", "wrapped_app",
            "ApiVersionHeader", "main (", "<module>", "serve (", "Server.run", "asyncio_run",
            "Runner.run", "run_until_complete", "thread (")


def _pyinstrument_cli(ctx: Context, args: list[str]) -> str:
    out = ctx.workspace / "profile.txt"
    subprocess.run([sys.executable, "-m", "pyinstrument", "-i", "0.0005", "-r", "text", "-o", str(out),
                    "-m", "minidock_magic.cli", *args], check=True, env=client_env(ctx.workspace),
                   stdout=subprocess.DEVNULL)
    return out.read_text()


def start_cli(ctx: Context) -> str:
    home = ctx.copy_busybox_home(ctx.workspace / "profile-home")
    argv = ["--home", str(home), "run", "--rm", "busybox", "true"]
    subprocess.run([*minidock_argv(), *argv], check=True, env=client_env(ctx.workspace))  # unpacks
    return _pyinstrument_cli(ctx, argv)


def start_api(ctx: Context, runs: int = 20) -> str:
    from pyinstrument import Profiler
    engine = Minidock(ctx.copy_busybox_home(ctx.workspace / "profile-home"))

    def once() -> None:
        engine.containers.run("busybox", RunOptions(command=["true"], auto_remove=True),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    once()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    started = time.perf_counter()
    for _ in range(runs):
        once()
    elapsed = time.perf_counter() - started
    profiler.stop()
    return f"{runs} runs, {elapsed / runs * 1000:.1f} ms each\n" + profiler.output_text(unicode=True)


def client(ctx: Context, verb: str) -> str:
    with DockerRegistry(ctx.dir("profile-registry")) as registry:
        name = f"{registry.address}/bench/big:1"
        ctx.big.tag(BIG, name)
        if verb == "push":
            return _pyinstrument_cli(ctx, ["--home", str(ctx.big.home), "push", "-q", name])
        check_output(*skopeo("copy", "-q", "--dest-tls-verify=false",
                             f"oci:{ctx.big.layout.oci}:docker.io/{BIG}", f"docker://{name}"))
        home = ctx.dir("profile-pull-home")
        try:
            return _pyinstrument_cli(ctx, ["--home", str(home), "pull", "-q", name])
        finally:
            remove_tree(home)


def server(ctx: Context, verb: str) -> str:
    raw = ctx.workspace / "py-spy.txt"
    with OurRegistry(ctx.dir("profile-ours")) as registry:
        name = f"docker://{registry.address}/bench/big:1"
        source = f"oci:{ctx.big.layout.oci}:docker.io/{BIG}"
        if verb == "pull":
            check_output(*skopeo("copy", "-q", "--dest-tls-verify=false", source, name))
        spy = subprocess.Popen(["py-spy", "record", "-r", "500", "-f", "raw", "--threads", "-o", str(raw),
                                "-p", str(registry.process.pid)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # py-spy attaches
        started = time.perf_counter()
        if verb == "push":
            check_output(*skopeo("copy", "-q", "--dest-tls-verify=false", source, name))
        else:
            check_output(*skopeo("copy", "-q", "--src-tls-verify=false", name,
                                 f"oci:{ctx.dir('profile-dest')}:big"))
        elapsed = time.perf_counter() - started
        spy.send_signal(signal.SIGINT)
        spy.wait()
    return f"skopeo {verb} took {elapsed:.2f} s\n" + summarize_collapsed(raw.read_text())


def _frame(text: str) -> str:
    """``func (path/to/file.py:12)`` → ``func (file.py)``."""
    name, _, where = text.partition(" (")
    return f"{name} ({where.split(':')[0].rsplit('/', 1)[-1]})" if where else name


def summarize_collapsed(text: str, top: int = 20) -> str:
    """Self and inclusive shares of py-spy's collapsed stacks, plumbing frames left out.

    >>> print(summarize_collapsed("a (x.py:1);b (y.py:2) 3\\na (x.py:1) 1", top=2))
    samples: 4
    self:  75.0 %  b (y.py) |  25.0 %  a (x.py)
    inclusive:
      100.0 %  a (x.py)
       75.0 %  b (y.py)
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    if not total:
        return "no samples"
    lines = [f"samples: {total}",
             "self: " + " | ".join(f"{n / total * 100:5.1f} %  {f}" for f, n in own.most_common(top)),
             "inclusive:"]
    lines += [f"  {n / total * 100:5.1f} %  {f}" for f, n in inclusive.most_common(top * 3)
              if not any(p in f for p in PLUMBING)][:top]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("what", choices=WHATS)
    parser.add_argument("--quick", action="store_true", help="tiny image sizes")
    args = parser.parse_args(argv)
    ctx = Context.create(runs=1, quick=args.quick)
    try:
        log(f"profiling {args.what} …")
        if args.what == "start-cli":
            report = start_cli(ctx)
        elif args.what == "start-api":
            report = start_api(ctx)
        elif args.what in ("push", "pull"):
            report = client(ctx, args.what)
        else:
            report = server(ctx, args.what.removeprefix("serve-"))
    finally:
        ctx.close()
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

