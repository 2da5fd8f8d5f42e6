"""Where a CLI command's imports go: ``python -m benchmarks.importtime [--runs N] [-- ARGS…]``.

Runs ``minidock --home H ARGS`` (default ``run --rm busybox true``) as pip installs it
(``tools.pip_like_install``; bytecode cached, as a user has it) ``N`` times under
``python -X importtime`` and prints, by median over the runs:

- the import time of each group of modules: the standard library, this package, everything else
  (each module's own time, so a group's sum is what importing it costs);
- the modules that cost most (own time), with the group each belongs to;
- how many dataclasses the command makes and what making them costs (each compiles the source
  of its ``__init__``/``__repr__``/``__eq__``/… at import: the largest single item of the run's
  imports), timed in one more run of the command in this interpreter's pip-like venv.

``-X importtime`` adds its own overhead (~10 %), so these are for proportions; the
``start_floor`` benchmark times the imports as a whole without it.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import sysconfig

from .context import Context, log
from .peers import PACKAGE_PARENT, client_env
from .tools import pip_like_install, run

STDLIB = sysconfig.get_paths()["stdlib"]

#: Run in the command's own process: time every dataclass it makes, then run the command.
_COUNT_DATACLASSES = """\
import dataclasses, sys, time
made = []
process = dataclasses._process_class
def timed(cls, *args):
    start = time.perf_counter()
    try:
        return process(cls, *args)
    finally:
        made.append(time.perf_counter() - start)
dataclasses._process_class = timed
sys.argv = ["minidock", *sys.argv[1:]]
from minidock_magic.cli import main
try:
    main()
finally:
    print(f"DATACLASSES {len(made)} {sum(made) * 1000:.1f}", file=sys.stderr)
"""


def self_times(text: str) -> dict[str, int]:
    """Module → its own import time in µs, from ``-X importtime`` output.

    >>> self_times("import time: self [us] | cumulative | imported package\\n"
    ...            "import time:        5 |          5 |   _io\\n"
    ...            "import time:       10 |         15 | io\\n")
    {'_io': 5, 'io': 10}
    """
    times = {}
    for line in text.splitlines():
        if line.startswith("import time:") and "imported package" not in line:
            own, _, name = line.removeprefix("import time:").split("|", 2)
            times[name.strip()] = int(own)
    return times


def group_of(name: str, origins: dict[str, str | None]) -> str:
    if name.split(".")[0] == "minidock_magic":
        return "minidock_magic"
    origin = origins.get(name)
    if origin is None or origin in ("built-in", "frozen") or origin.startswith(STDLIB):
        return "standard library"
    return "third-party"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.importtime", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--top", type=int, default=25)
    argv = sys.argv[1:] if argv is None else argv
    command = argv[argv.index("--") + 1:] if "--" in argv else ["run", "--rm", "busybox", "true"]
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    ctx = Context.create(runs=args.runs, quick=True)
    try:
        home = ctx.copy_busybox_home(ctx.workspace / "importtime-home")
        env = client_env(ctx.workspace)
        python, script = pip_like_install(ctx.dir("pip-venv"), PACKAGE_PARENT)
        cli = [str(script), "--home", str(home), *command]
        run(*cli, env=env)  # first-use work (unpacking busybox) is not what is measured
        samples: dict[str, list[int]] = collections.defaultdict(list)
        for _ in range(args.runs):
            result = subprocess.run([str(python), "-X", "importtime", *cli], capture_output=True,
                                    text=True, env=env, check=True)
            for name, own in self_times(result.stderr).items():
                samples[name].append(own)
        origins_code = ("import importlib.util, json, sys\nout = {}\nfor n in sys.argv[1:]:\n"
                        "    try: s = importlib.util.find_spec(n)\n    except Exception: s = None\n"
                        "    out[n] = s.origin if s else None\nprint(json.dumps(out))")
        origins = json.loads(run(python, "-c", origins_code, *samples, env=env))
        medians = {name: statistics.median(values) / 1000 for name, values in samples.items()}
        groups: dict[str, float] = collections.Counter()
        for name, ms in medians.items():
            groups[group_of(name, origins)] += ms
        counted = subprocess.run([str(python), "-c", _COUNT_DATACLASSES, "--home", str(home),
                                  *command], capture_output=True, text=True, env=env, check=True)
        made = [line.split() for line in counted.stderr.splitlines() if line.startswith("DATACLASSES")]
        print(f"`minidock {' '.join(command)}` (as pip installs it), median of {args.runs} runs "
              f"under -X importtime; {len(medians)} modules")
        for group, ms in sorted(groups.items(), key=lambda item: -item[1]):
            print(f"  {group:18} {ms:7.1f} ms")
        print(f"  {'all':18} {sum(groups.values()):7.1f} ms")
        if made:
            print(f"dataclasses made: {made[-1][1]}, in {made[-1][2]} ms (one run, no -X importtime)")
        print("costliest modules (own time, median ms):")
        for name, ms in sorted(medians.items(), key=lambda item: -item[1])[:args.top]:
            print(f"  {ms:6.2f}  {name}  ({group_of(name, origins)})")
        print("load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        log(f"{args.runs} runs of `minidock {' '.join(command)}` under -X importtime")
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
