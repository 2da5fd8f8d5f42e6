"""Where a CLI container start goes: the measured floor of each part of ``minidock run --rm busybox true``.

All of it as a user gets it: ``pip install`` leaves the package as a plain directory on
``sys.path`` and a ``minidock`` console script (``tools.pip_like_install`` makes such a venv from
this checkout; this environment's own editable install adds a finder that ``site`` imports at
every start, measured apart as an extra row). Each round runs, alternating, six processes and
one in-process call, with the bytecode cache of the user rows (``context.use_bytecode_cache``):

1. ``python -S -c pass`` — the interpreter alone;
2. ``python -c pass`` — plus ``site`` of that venv;
3. ``python -c "import …"`` — plus importing exactly the modules a real ``run --rm`` imports
   itself, in its order (taken from ``python -X importtime`` of one real run of the script);
4. ``minidock run --rm busybox true`` — the whole CLI (pip's console script);
5. ``python -c pass`` of this environment — its ``site`` with the editable finder (the extra row);
6. the container in this (warm) process, in parts: the runtime alone (supervisor, namespaces,
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
from .peers import PACKAGE_PARENT, client_env
from .tools import BothClocks, pip_like_install, run_timed

NAME = "start_floor"


def imported_modules(argv: list[str], env: dict[str, str]) -> list[str]:
    """The modules ``argv`` (a python and its arguments) imports itself, in import order."""
    result = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], capture_output=True,
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
    python, script = pip_like_install(ctx.dir("floor-pip-venv"), PACKAGE_PARENT)
    cli = [str(script), "--home", str(home), *RUN]
    run_timed(*cli, env=env)  # unpacks busybox, so the import list is the warm path's
    modules = imported_modules([str(python), *cli], env)
    imports = "import " + ", ".join(modules)
    parts = _Parts(Minidock(ctx.copy_busybox_home(ctx.workspace / "floor-api-home")))
    processes = [BothClocks(lambda: run_timed(python, "-S", "-c", "pass", env=env)),
                 BothClocks(lambda: run_timed(python, "-c", "pass", env=env)),
                 BothClocks(lambda: run_timed(python, "-c", imports, env=env)),
                 BothClocks(lambda: run_timed(*cli, env=env)),
                 BothClocks(lambda: run_timed(sys.executable, "-c", "pass", env=env))]
    measures: list[Measure] = [*processes, parts]
    log(f"start floor: {ctx.runs} rounds of [python -S, python, python + {len(modules)} imports, "
        "minidock run (as pip installs it), python of this editable install, the container in "
        "parts in this process], wall and CPU time")
    wall = alternate(measures, ctx.runs, log)[:5]
    cpu = [p.cpu[1:] for p in processes]  # [0] is the warm-up round
    return (_rows("wall time", f"{len(modules)} top-level", wall, parts.samples)
            + _rows("CPU time", f"{len(modules)} top-level", cpu, parts.cpu))


def _rows(clock: str, imports: str, processes: list[list[float]],
          parts: dict[str, list[float]]) -> list[Row]:
    """The parts, each a difference of paired samples of one round: ``processes`` are the
    samples of python -S, python, python + imports and the whole CLI (as pip installs it), and
    python of this environment (an editable install); ``parts`` the warm container's, whose
    first sample is the warm-up round."""
    bare, site, imported, whole, editable_site = processes
    runtime = parts["runtime"][1:]
    bookkeeping = [sum(parts[k][i + 1] for k in parts if k != "runtime") for i in range(len(runtime))]
    own = [w - i - r - b for w, i, r, b in zip(whole, imported, runtime, bookkeeping)]
    label = "`minidock run --rm busybox true` (as pip installs it)"

    def row(part: str, how: str, samples: list[float]) -> Row:
        return Row(f"CLI start, floor of a part ({clock}): {part}", how, label, tuple(samples),
                   tuple(whole))

    return [
        row("the interpreter", "`python -S -c pass`", bare),
        row("site (a venv where pip installed the package: no .pth imports anything)",
            "`python -c pass` − `python -S -c pass`", [s - b for s, b in zip(site, bare)]),
        row("extra, not part of the whole — what an editable install (this environment, CI) adds "
            "to site: its finder imports pathlib, re, urllib.parse …, which a run then imports "
            "anyway", "`python -c pass` here − in the pip venv",
            [e - s for e, s in zip(editable_site, site)]),
        row(f"imports ({imports}, as a run imports them)",
            "`python -c 'import …'` − `python -c pass`", [i - s for i, s in zip(imported, site)]),
        row("the container: runtime (warm, in process)", "`runtime.start(spec).wait()`", runtime),
        row("the container: bookkeeping (warm, in process)", "create + state records + remove",
            bookkeeping),
        row("the CLI's own work", "whole − imports − runtime − bookkeeping", own),
        Row(f"CLI start, whole ({clock})", label, "", tuple(whole)),
    ]
