"""Lessons: the wall time of checking every notebook with nbval — once there are notebooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .context import Context, log
from .harness import Row, not_yet, timed

NAME = "lessons"
REPO = Path(__file__).resolve().parents[1]


def notebooks() -> list[Path]:
    return sorted(p for p in REPO.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts and not any(
                      part.startswith(".") or part in ("build", "dist") for part in p.parts[len(REPO.parts):]))


def run(ctx: Context) -> list[Row]:
    found = notebooks()
    if not found:
        return [not_yet("lessons, total nbval time", "no notebooks in the repository yet")]
    if ctx.quick:
        return [not_yet("lessons, total nbval time", f"{len(found)} notebooks; skipped with --quick")]
    log(f"lessons: nbval over {len(found)} notebooks, once")

    def check() -> None:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                 "--nbval", *map(str, found)], capture_output=True, text=True,
                                cwd=REPO, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"nbval failed:\n{result.stdout[-2000:]}")

    return [Row("lessons, total nbval time", f"`pytest --nbval` over {len(found)} notebooks", "",
                (timed(check),))]
