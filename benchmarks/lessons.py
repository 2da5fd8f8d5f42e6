"""Lessons: the wall time of checking every notebook with nbval, and how many cells pass.

nbval runs exactly as the lesson tests run it: through ``tests/lessons/helpers.py``'s ``nbval``
(``notebooks/sanitize.cfg``, ``--nbval-current-env``, the cell timeout, this checkout first on
``PYTHONPATH``, the lesson homes under the scratch workspace). On top of that, ``MINIDOCK_HOME``
and ``DOCKER_CONFIG`` point into the workspace too, so nothing a lesson does can reach the
caller's own store or logins. All notebooks go through one pytest process: the time is what a
teacher (or CI) waits for the whole set. With ``--quick``, one small notebook only — the same
path, checked in seconds, but not the target's number.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.lessons.helpers import checkout_environment, lesson_notebooks, nbval, remove_lesson_containers

from .context import Context, log
from .harness import Row, Target, not_yet

NAME = "lessons"
ROW = "lessons, total nbval time"
#: The notebook ``--quick`` checks: lesson 1 runs in about 3 s of cells, 6 s with pytest's start.
QUICK_NOTEBOOK = "01-what-is-an-image.ipynb"
#: The whole set takes about 140 s here; a hung kernel must still end the run.
TIMEOUT = 3600


class EveryCellPasses(Target):
    """The lessons' target is only to know the total time: met once nbval passes every cell."""

    def met(self, row: Row) -> bool | None:
        if not row.ours:
            return None
        return row.extra.get("exit_code") == 0 and row.extra.get("failed", 0) == 0 \
            and row.extra.get("errors", 0) == 0


def counts(summary: str) -> dict[str, int]:
    """pytest's last line, as numbers.

    >>> counts("12 failed, 520 passed in 137.63s (0:02:17)")
    {'failed': 12, 'passed': 520}
    >>> counts("19 passed, 1 error in 2.76s")
    {'passed': 19, 'errors': 1}
    """
    found: dict[str, int] = {}
    for number, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b", summary):
        found["errors" if word.startswith("error") else word] = int(number)
    return found


def run(ctx: Context) -> list[Row]:
    found = lesson_notebooks()
    if not found:
        return [not_yet(ROW, "no notebooks in the repository yet")]
    chosen = [path for path in found if path.name == QUICK_NOTEBOOK][:1] if ctx.quick else found
    if not chosen:
        return [not_yet(ROW, f"{len(found)} notebooks, no {QUICK_NOTEBOOK} for --quick")]
    workdir = ctx.dir("lessons")
    env = dict(checkout_environment(), MINIDOCK_HOME=str(ctx.dir("lessons-home")),
               DOCKER_CONFIG=str(ctx.dir("lessons-docker-config")))
    log(f"lessons: nbval over {len(chosen)} of {len(found)} notebooks, once")
    started = time.perf_counter()
    try:
        result = nbval(chosen, workdir, env=env, timeout=TIMEOUT)
    finally:
        remove_lesson_containers(workdir / "lessons")
    elapsed = time.perf_counter() - started
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).strip().splitlines()
    summary = lines[-1] if lines else f"exit {result.returncode}"
    tally = counts(summary)
    log(f"lessons: {summary} (exit {result.returncode}, {elapsed:.1f} s)")
    extra = {"notebooks": float(len(chosen)), "exit_code": float(result.returncode),
             **{key: float(value) for key, value in tally.items()}}
    passed, failed = tally.get("passed", 0), tally.get("failed", 0) + tally.get("errors", 0)
    if ctx.quick:
        what = f"{Path(chosen[0]).name} only (--quick; the full set is {len(found)} notebooks)"
        return [Row(f"{ROW}, one notebook", f"`pytest --nbval` over {what}", "", (elapsed,),
                    note=f"{passed} cells passed, {failed} failed", extra=extra)]
    note = f"{len(found)} notebooks; {passed} cells passed, {failed} failed"
    if result.returncode != 0 and not failed:
        note += f"; nbval exit {result.returncode}: {summary}"
    return [Row(ROW, f"`pytest --nbval` over {len(found)} notebooks", "", (elapsed,),
                target=EveryCellPasses("total nbval time"), note=note, extra=extra)]
