"""Where a CLI container start goes: the measured floor of each part of ``minidock run --rm busybox true``.

Each round runs, alternating, five processes and one in-process call, with the bytecode cache
of the user rows (``context.use_bytecode_cache``):

1. ``python -S -c pass`` — the interpreter alone;
2. ``python -c pass`` — plus ``site`` (this environment's ``.pth`` files: an editable install's
   finder, coverage's and setuptools' hooks);
3. ``python -c "import …"`` — plus importing exactly the modules a real ``run --rm`` imports, in
   its order (taken from ``python -X importtime`` of one real run);
4. ``minidock run --rm busybox true`` — the whole CLI;
5. the container in this (warm) process, in parts: the runtime alone (supervisor, namespaces,
   mounts, exec, exit status) and the bookkeeping around it (create, state records, remove).

Each is timed by two clocks: wall time, and CPU time (user + system of the process and the
children it waited for), which other load on the machine disturbs far less — the rows to read
when the host is busy.

Parts are differences of paired samples (each round's own), medians over rounds; "the CLI's own
work" is what the whole CLI spends beyond its imports, minus the warm container's runtime and
bookkeeping: argument parsing, opening the home, first-use work a warm process has done before.
"""

from __future__ import annotations

import subprocess
import sys

from minidock_magic.facade import Minidock

from .container_start import RUN, _Parts
from .context import Context, log
from .harness import Measure, Row, alternate
from .peers import client_env
from .tools import BothClocks, minidock_argv, run_timed

NAME = "start_floor"


def imported_modules(argv: list[str], env: dict[str, str]) -> list[str]:
    """The modules ``argv`` (a Python command) imports, outermost first, in import order."""
    result = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True,
                            text=True, env=env, check=True)
    return parse_importtime(result.stderr)


def parse_importtime(text: str) -> list[str]:
    """Top-level module names from ``-X importtime`` output (a parent is printed after its
    children, so only depth-0 lines are imports the program itself asked for).

    >>> parse_importtime("import time: self [us] | cumulative | imported package\\n"
    ...                  "import time:        5 |          5 |   _io\\n"
    ...                  "import time:       10 |         15 | io\\n"
    ...                  "import time:        3 |          3 | __main__\\n")
    ['io']
    """
    names = []
    for line in text.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        raw = line.split("|", 2)[2]
        name = raw.strip()
        if raw.startswith(" ") and not raw.startswith("  ") and name != "__main__":
            names.append(name)
    return names


def run(ctx: Context) -> list[Row]:
    home = ctx.copy_busybox_home(ctx.workspace / "floor-cli-home")
    env = client_env(ctx.workspace)
    cli = [*minidock_argv(), "--home", str(home), *RUN]
    run_timed(*cli, env=env)  # unpacks busybox, so the import list is the warm path's
    script = "import runpy, sys; sys.argv[0] = 'minidock'; runpy.run_module('minidock_magic.cli', run_name='__main__')"
    modules = imported_modules(["-c", script, "--home", str(home), *RUN], env)
    modules = [m for m in modules if m not in ("runpy", "minidock_magic.cli")] + ["minidock_magic.cli"]
    imports = "import " + ", ".join(modules)
    parts = _Parts(Minidock(ctx.copy_busybox_home(ctx.workspace / "floor-api-home")))
    processes = [BothClocks(lambda: run_timed(sys.executable, "-S", "-c", "pass", env=env)),
                 BothClocks(lambda: run_timed(sys.executable, "-c", "pass", env=env)),
                 BothClocks(lambda: run_timed(sys.executable, "-c", imports, env=env)),
                 BothClocks(lambda: run_timed(*cli, env=env))]
    measures: list[Measure] = [*processes, parts]
    log(f"start floor: {ctx.runs} rounds of [python -S, python, python + {len(modules)} imports, "
        "minidock run, the container in parts in this process], wall and CPU time")
    wall = alternate(measures, ctx.runs, log)[:4]
    cpu = [p.cpu[1:] for p in processes]  # [0] is the warm-up round
    return (_rows("wall time", f"{len(modules)} top-level", wall, parts.samples)
            + _rows("CPU time", f"{len(modules)} top-level", cpu, parts.cpu))


def _rows(clock: str, imports: str, processes: list[list[float]],
          parts: dict[str, list[float]]) -> list[Row]:
    """The parts, each a difference of paired samples of one round: ``processes`` are the
    samples of python -S, python, python + imports and the whole CLI; ``parts`` the warm
    container's, whose first sample is the warm-up round."""
    bare, site, imported, whole = processes
    runtime = parts["runtime"][1:]
    bookkeeping = [sum(parts[k][i + 1] for k in parts if k != "runtime") for i in range(len(runtime))]
    own = [w - i - r - b for w, i, r, b in zip(whole, imported, runtime, bookkeeping)]
    label = "`minidock run --rm busybox true`"

    def row(part: str, how: str, samples: list[float]) -> Row:
        return Row(f"CLI start, floor of a part ({clock}): {part}", how, label, tuple(samples),
                   tuple(whole))

    return [
        row("the interpreter", "`python -S -c pass`", bare),
        row("site (this environment's .pth files)", "`python -c pass` − `python -S -c pass`",
            [s - b for s, b in zip(site, bare)]),
        row(f"imports ({imports}, as a run imports them)",
            "`python -c 'import …'` − `python -c pass`", [i - s for i, s in zip(imported, site)]),
        row("the container: runtime (warm, in process)", "`runtime.start(spec).wait()`", runtime),
        row("the container: bookkeeping (warm, in process)", "create + state records + remove",
            bookkeeping),
        row("the CLI's own work", "whole − imports − runtime − bookkeeping", own),
        Row(f"CLI start, whole ({clock})", label, "", tuple(whole)),
    ]
