"""Checkouts' ``minidock pull`` next to ``skopeo copy``, side by side on one registry.

``python -m benchmarks.pull_ab [--runs N] [--quick] [CHECKOUT…]`` fills one CNCF ``docker-registry`` with
the big image (``push_pull``'s), then per round pulls it with ``skopeo copy`` into an empty
``oci:`` layout and with ``python -m minidock_magic.cli pull -q`` of each CHECKOUT (the directory
holding ``minidock_magic/``; default: this one) into an empty store, the order reversed every
other round, after one untimed round. It prints each side's median wall time and the median of
its per-round ratios to skopeo: on a busy host the rounds share their load, so those ratios are
steadier than ``push_pull``'s ratio of medians. Bytecode cached, as ``push_pull``.

Make a CHECKOUT from a commit with ``git archive COMMIT minidock_magic | tar -x -C /tmp/old``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from .context import Context, log
from .peers import DockerRegistry, client_env, skopeo
from .push_pull import REPO, _oci_source
from .tools import remove_tree, run_timed
from .tools import run as check_output

HERE = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pull_ab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkouts", nargs="*", type=Path, default=[HERE])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    args = parser.parse_args(argv)
    ctx = Context.create(runs=args.runs, quick=args.quick)
    try:
        with DockerRegistry(ctx.dir("registry")) as registry:
            name = f"{registry.address}/{REPO}"
            check_output(*skopeo("copy", "-q", "--dest-tls-verify=false", _oci_source(ctx.big),
                                 f"docker://{name}"))
            count = 0

            def empty() -> Path:
                nonlocal count
                count += 1
                return ctx.dir(f"pull-{count}")

            def ours(root: Path) -> float:
                env = client_env(ctx.workspace)
                env["PYTHONPATH"] = os.pathsep.join([str(root.resolve()), env["PYTHONPATH"]])
                home = empty()
                try:  # cwd: `python -m` puts it first on sys.path, before PYTHONPATH
                    return run_timed(sys.executable, "-m", "minidock_magic.cli", "--home", str(home),
                                     "pull", "-q", name, env=env, cwd=ctx.workspace)
                finally:
                    remove_tree(home)

            def theirs() -> float:
                dest = empty()
                try:
                    return run_timed(*skopeo("copy", "-q", "--src-tls-verify=false",
                                             f"docker://{name}", f"oci:{dest}:big"))
                finally:
                    remove_tree(dest)

            sides: list[tuple[str, Callable[[], float]]] = [("skopeo copy", theirs)]
            sides += [(str(root), lambda root=root: ours(root)) for root in args.checkouts]
            samples: dict[str, list[float]] = {label: [] for label, _ in sides}
            for round_ in range(args.runs + 1):
                for label, measure in sides if round_ % 2 else sides[::-1]:
                    seconds = measure()
                    if round_:
                        samples[label].append(seconds)
            peer = samples["skopeo copy"]
            for label, values in samples.items():
                ratio = statistics.median(v / p for v, p in zip(values, peer))
                print(f"{label}: median {statistics.median(values) * 1000:.0f} ms, per-round "
                      f"ratio to skopeo (median) {ratio:.2f}")
            print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
            log(f"{args.runs} rounds of pulling {name}")
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
