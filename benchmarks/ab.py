"""Two checkouts side by side on one CLI command, by wall and CPU time.

``python -m benchmarks.ab OLD [--new NEW] [--runs N] [-- ARGS…]`` runs ``python -m minidock_magic.cli
--home H ARGS`` (default ``run --rm busybox true``) with ``PYTHONPATH`` at each checkout's root
(NEW defaults to this one), alternating which goes first, after one untimed round each, with the
bytecode cache of the user rows. It prints the medians and the median of per-round ratios
NEW/OLD. CPU time (user + system of the process and its children) is the figure to trust on a
busy host; a start-up change of 1–2 % is below what either clock resolves there.

Make OLD from a commit with ``git archive COMMIT minidock_magic | tar -x -C /tmp/old``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

from .context import Context, log
from .peers import client_env
from .tools import BothClocks, run_timed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", type=Path, help="a checkout (the directory holding minidock_magic/)")
    parser.add_argument("--new", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the other checkout (default: this one)")
    parser.add_argument("--runs", type=int, default=15)
    argv = sys.argv[1:] if argv is None else argv
    command = argv[argv.index("--") + 1:] if "--" in argv else ["run", "--rm", "busybox", "true"]
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.args = command
    ctx = Context.create(runs=args.runs, quick=True)
    try:
        home = ctx.copy_busybox_home(ctx.workspace / "ab-home")
        sides = {}
        for name, root in (("old", args.old), ("new", args.new)):
            env = client_env(ctx.workspace)
            env["PYTHONPATH"] = os.pathsep.join([str(root.resolve()), env["PYTHONPATH"]])
            argv_ = [sys.executable, "-m", "minidock_magic.cli", "--home", str(home), *args.args]
            # cwd: `python -m` puts the working directory first on sys.path, before PYTHONPATH
            sides[name] = BothClocks(lambda argv_=argv_, env=env: run_timed(*argv_, env=env,
                                                                           cwd=ctx.workspace))
        wall: dict[str, list[float]] = {"old": [], "new": []}
        for round_ in range(args.runs + 1):
            order = ("old", "new") if round_ % 2 else ("new", "old")
            for name in order:
                seconds = sides[name]()
                if round_:
                    wall[name].append(seconds)
        cpu = {name: side.cpu[1:] for name, side in sides.items()}
        for clock, samples in (("wall", wall), ("cpu", cpu)):
            ratio = statistics.median(n / o for o, n in zip(samples["old"], samples["new"]))
            print(f"{clock}: old {statistics.median(samples['old']) * 1000:.1f} ms, new "
                  f"{statistics.median(samples['new']) * 1000:.1f} ms, new/old {ratio:.3f}")
        print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        log(f"{args.runs} rounds of `minidock {' '.join(args.args)}`")
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
