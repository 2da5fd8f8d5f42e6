"""``python -m benchmarks [--quick] [--only NAME] [--runs N] [--json FILE] [--results FILE]``: the
table on stdout; ``--json`` keeps every sample, ``--results`` rewrites the generated part of
RESULTS.md (``benchmarks.report``)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

from . import report
from .context import Context, bytecode_facts, log
from .harness import Row, not_yet
from .tools import ToolMissing, code_under_test, machine_facts, tool_versions

#: Each a module here with ``run(ctx) -> list[Row]``; add a new one to this tuple.
BENCHMARKS = ("container_start", "start_floor", "push_pull", "transport", "unpack", "build", "storage",
              "lessons", "published_ports")
DEFAULT_RUNS = 5


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"benchmarks.{name}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="one run of each, tiny sizes (what CI runs)")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--runs", type=int, help=f"rounds per pair (default {DEFAULT_RUNS}; 1 with --quick)")
    parser.add_argument("--json", type=Path, help="also write every sample here")
    parser.add_argument("--results", type=Path,
                        help="also rewrite the generated table of this file (benchmarks/RESULTS.md)")
    parser.add_argument("--workspace", type=Path, help="scratch directory (default: a new one in /tmp)")
    return parser.parse_args(argv)


def run_all(args: argparse.Namespace) -> tuple[list[Row], dict[str, float]]:
    runs = args.runs or (1 if args.quick else DEFAULT_RUNS)
    ctx = Context.create(runs=runs, quick=args.quick, workspace=args.workspace)
    rows: list[Row] = []
    durations: dict[str, float] = {}
    try:
        for name in args.only or BENCHMARKS:
            started = time.monotonic()
            log(f"== {name}")
            try:
                rows += _module(name).run(ctx)
            except ToolMissing as missing:
                rows.append(not_yet(name, str(missing)))
            except Exception as error:  # noqa: BLE001 - one broken benchmark must not hide the rest
                traceback.print_exc(file=sys.stderr)
                rows.append(not_yet(name, f"failed: {type(error).__name__}: "
                                          f"{str(error).splitlines()[0] if str(error) else ''}"))
            durations[name] = time.monotonic() - started
    finally:
        ctx.close()
    return rows, durations


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    facts = machine_facts() | bytecode_facts()
    started = time.monotonic()
    rows, durations = run_all(args)
    facts["load average after"] = machine_facts()["load average (1/5/15 min)"]
    facts["code under test"] = code_under_test()
    command = "python -m benchmarks" + (" " + " ".join(sys.argv[1:]) if argv is None and sys.argv[1:] else "")
    results = {"command": command, "total_seconds": time.monotonic() - started, "facts": facts,
               "peers": tool_versions(), "durations": durations, "rows": [row.to_json() for row in rows]}
    print(report.render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.results:
        report.update(args.results, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
