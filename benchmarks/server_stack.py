"""Variants of our registry server, A/B: ``python -m benchmarks.server_stack [--runs N] [--quick]
[--variants standard,plain,rehash]``.

uvicorn (``loop="auto"``, ``http="auto"``, its defaults) serves with uvloop and httptools when
they are importable, else with asyncio and h11. This runs ``minidock registry serve`` in
variants — "standard" as installed; "plain" with those two imports blocked in the server
process; "rehash" with uploads hashed only when completed, by reading them back (as before the
running hash) — and has skopeo push the big image to each and pull it back, with
docker-registry as the yardstick, as ``push_pull``'s "server only" rows do: every push into a
freshly started, empty registry, every pull into an empty directory, the server's start-up
never timed. The variants' order rotates every round. Prints medians and per-round ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from minidock_magic.oci.reference import Reference

from .context import Context, log
from .images import BIG
from .peers import DockerRegistry, OurRegistry, _Server, skopeo
from .tools import remove_tree, run_timed
from .tools import run as check_output

REPO = "bench/big:1"
#: ``None`` in ``sys.modules`` makes ``import uvloop`` fail, so uvicorn's "auto" picks asyncio/h11.
BLOCKED = "import sys; sys.modules.update(uvloop=None, httptools=None)\n"
#: No running hash: ``complete_upload`` reads every blob back, as it did before.
REHASH = ("from minidock_magic.registry import storage\n"
          "_init = storage.UploadWriter.__init__\n"
          "storage.UploadWriter.__init__ = lambda self, stream, offset, hasher=None: _init(self, stream, offset)\n")
SERVE = "import sys\nfrom minidock_magic.cli import main\nsys.exit(main())\n"


class _OurServer(OurRegistry):
    prelude = ""
    native: frozenset[str] = frozenset({"uvloop", "httptools"})

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.prelude + SERVE]


def native_modules(server: _Server) -> set[str]:
    """Which of uvloop and httptools the server process has loaded (their extension modules)."""
    maps = Path(f"/proc/{server.process.pid}/maps").read_text()
    return {name for name in ("uvloop", "httptools") if f"/{name}/" in maps}


class Standard(_OurServer):
    name = "minidock registry (uvloop + httptools)"


class Plain(_OurServer):
    name = "minidock registry (asyncio + h11)"
    prelude = BLOCKED
    native: frozenset[str] = frozenset()


class Rehash(_OurServer):
    name = "minidock registry (uploads read back to hash)"
    prelude = REHASH


VARIANTS: dict[str, type[_Server]] = {"standard": Standard, "plain": Plain, "rehash": Rehash,
                                      "docker-registry": DockerRegistry}


def cpu_seconds(server: _Server) -> float:
    """User + system CPU time of the server process so far, all its threads."""
    fields = Path(f"/proc/{server.process.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _source(ctx: Context) -> str:
    return f"oci:{ctx.big.layout.oci}:{Reference.parse(BIG)}"


#: Server CPU seconds per operation, by variant (wall time is noisy on a shared machine; this less so).
CPU: dict[str, list[float]] = {}


def _push(ctx: Context, name: str, count: list[int]) -> float:
    count[0] += 1
    root = ctx.dir(f"stack-push-{count[0]}")
    registry = VARIANTS[name](root)  # type: ignore[call-arg]
    try:
        before = cpu_seconds(registry)
        elapsed = run_timed(*skopeo("copy", "-q", "--dest-tls-verify=false", _source(ctx),
                                    f"docker://{registry.address}/{REPO}"))
        CPU.setdefault(f"push {name}", []).append(cpu_seconds(registry) - before)
        return elapsed
    finally:
        registry.stop()
        remove_tree(root)


def _pull(ctx: Context, name: str, registry: _Server, count: list[int]) -> float:
    count[0] += 1
    dest = ctx.dir(f"stack-pull-{count[0]}")
    try:
        before = cpu_seconds(registry)
        elapsed = run_timed(*skopeo("copy", "-q", "--src-tls-verify=false",
                                    f"docker://{registry.address}/{REPO}", f"oci:{dest}:big"))
        CPU.setdefault(f"pull {name}", []).append(cpu_seconds(registry) - before)
        return elapsed
    finally:
        remove_tree(dest)


def _rounds(measures: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """One untimed warm-up, then ``runs`` rounds, the order rotating by one place every round."""
    for measure in measures.values():
        measure()
    samples: dict[str, list[float]] = {name: [] for name in measures}
    names = list(measures)
    for round_ in range(runs):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            samples[name].append(measures[name]())
        log(f"  round {round_ + 1}/{runs}: " + ", ".join(f"{n} {samples[n][-1] * 1000:.0f} ms" for n in order))
    return samples


def _report(verb: str, samples: dict[str, list[float]]) -> list[str]:
    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(samples[a], samples[b]))

    ours = [name for name in samples if name != "docker-registry"]
    lines = [f"{verb}: medians " + ", ".join(f"{n} {statistics.median(s) * 1000:.0f} ms"
                                            for n, s in samples.items())]
    lines.append(f"{verb}: median per-round ratios: " + ", ".join(
        [f"{n}/docker-registry {ratio(n, 'docker-registry'):.2f}x" for n in ours]
        + [f"{a}/{b} {ratio(a, b):.3f}x" for i, a in enumerate(ours) for b in ours[i + 1:]]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server_stack", description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="tiny image, 2 rounds")
    parser.add_argument("--variants", default="standard,plain",
                        help="which of ours, comma-separated: standard, plain, rehash (default standard,plain)")
    args = parser.parse_args(argv)
    chosen = [*dict.fromkeys(args.variants.split(",")), "docker-registry"]
    if unknown := [name for name in chosen if name not in VARIANTS]:
        parser.error(f"unknown variants {unknown}; choose from standard, plain, rehash")
    missing = [name for name in ("uvloop", "httptools") if importlib.util.find_spec(name) is None]
    if missing:
        print(f"{' and '.join(missing)} not installed: every variant would be asyncio + h11", file=sys.stderr)
        return 2
    ctx = Context.create(runs=2 if args.quick else args.runs, quick=args.quick)
    try:
        log(f"big image: {ctx.big.image(BIG).size / 1e6:.1f} MB compressed")
        pushes, pulls = [0], [0]
        push_samples = _rounds({name: (lambda name=name: _push(ctx, name, pushes)) for name in chosen},
                               ctx.runs)
        servers = {name: VARIANTS[name](ctx.dir(f"stack-{name}")) for name in chosen}  # type: ignore[call-arg]
        try:
            loaded = {name: native_modules(server) for name, server in servers.items()
                      if isinstance(server, _OurServer)}
            log(f"loaded in our server processes: {loaded}")
            for name, server in servers.items():
                if isinstance(server, _OurServer) and loaded[name] != server.native:
                    raise RuntimeError(f"variant {name} is not what it claims: {loaded[name]}")
            for server in servers.values():
                check_output(*skopeo("copy", "-q", "--dest-tls-verify=false", _source(ctx),
                                     f"docker://{server.address}/{REPO}"))
            pull_samples = _rounds({name: (lambda name=name, s=server: _pull(ctx, name, s, pulls))
                                    for name, server in servers.items()}, ctx.runs)
        finally:
            for server in servers.values():
                server.stop()
    finally:
        ctx.close()
    print("\n".join(_report("push (skopeo → server)", push_samples)
                    + _report("pull (skopeo ← server)", pull_samples)))
    warm = {key: values[1:] for key, values in CPU.items()}  # the first is the untimed warm-up
    print("server CPU per operation (median): " + ", ".join(
        f"{key} {statistics.median(values) * 1000:.0f} ms" for key, values in warm.items()))
    print(f"rounds: {ctx.runs}; samples (s): push {push_samples}; pull {pull_samples}; server CPU {warm}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
