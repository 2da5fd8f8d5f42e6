"""Lessons: the wall time of checking every notebook with nbval — once they exist and pass.

nbval runs with ``MINIDOCK_HOME`` and ``DOCKER_CONFIG`` in the scratch workspace, so the lessons
never touch the caller's own store or logins. Skipped with ``--quick``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from .context import Context, log
from .harness import Row, not_yet

NAME = "lessons"
ROW = "lessons, total nbval time"
REPO = Path(__file__).resolve().parents[1]


def notebooks() -> list[Path]:
    """Every lesson notebook, translations and solutions included; not checkpoints or drafts."""
    return sorted(p for p in REPO.rglob("*.ipynb")
                  if not any(part.startswith((".", "_")) or part in ("build", "dist")
                             for part in p.relative_to(REPO).parts))


def run(ctx: Context) -> list[Row]:
    found = notebooks()
    if not found:
        return [not_yet(ROW, "no notebooks in the repository yet")]
    if ctx.quick:
        return [not_yet(ROW, f"{len(found)} notebooks; skipped with --quick")]
    log(f"lessons: nbval over {len(found)} notebooks, once")
    env = dict(os.environ, MINIDOCK_HOME=str(ctx.dir("lessons-home")),
               DOCKER_CONFIG=str(ctx.workspace / "docker-config"))
    sanitize = REPO / "notebooks" / "sanitize.cfg"
    options = ["--nbval-sanitize-with", str(sanitize)] if sanitize.is_file() else []
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--nbval", *options, *map(str, found)], capture_output=True, text=True,
                            cwd=ctx.workspace, env=env, check=False)
    elapsed = time.perf_counter() - started
    summary = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout.strip().splitlines()[-1]) \
        if result.stdout.strip() else f"exit {result.returncode}"
    if result.returncode != 0:
        return [not_yet(ROW, f"{len(found)} notebooks, but nbval does not pass yet ({summary})")]
    return [Row(ROW, f"`pytest --nbval` over {len(found)} notebooks", "", (elapsed,), note=summary)]
