"""Running notebooks under nbval in a subprocess, the way CI and a teacher would."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
SANITIZE = NOTEBOOKS / "sanitize.cfg"
CELL_TIMEOUT = "120"
# The longest line a lesson's code cell may have: what JupyterLab shows without scrolling
# sideways at 1280 px wide is 107 columns (Notebook 7: 140; tests/browser checks), and 79 still
# fits a window about 1070 px wide (a 1280 px screen zoomed to 120 %, a projector).
CODE_LINE_LIMIT = 79


def lesson_notebooks() -> list[Path]:
    """Every lesson notebook (English, Chinese, solutions); not the authoring sources or checkpoints."""
    return sorted(p for p in NOTEBOOKS.rglob("*.ipynb")
                  if not any(part.startswith((".", "_")) for part in p.relative_to(NOTEBOOKS).parts))


def checkout_environment() -> dict[str, str]:
    """This process's environment, with this checkout first on ``PYTHONPATH``: the kernels then
    import the package under test, whatever else is installed."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


def nbval(notebooks: list[Path], workdir: Path, *, python: str = sys.executable,
          env: dict[str, str] | None = None, sanitize: Path = SANITIZE,
          timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``pytest --nbval`` over ``notebooks``, outputs compared through ``notebooks/sanitize.cfg``.

    The kernel is ``python`` itself (``--nbval-current-env``), so the package under test is the one
    that interpreter imports with ``env`` (default: ``checkout_environment()``); lesson homes go
    under ``workdir``. The repository's own pytest settings (doctests, xdist) are left out with an
    empty ini file.
    """
    ini = workdir / "nbval.ini"
    ini.write_text("[pytest]\n")
    run_env = dict(env) if env is not None else checkout_environment()
    run_env["MINIDOCK_LESSONS_DIR"] = str(workdir / "lessons")
    return subprocess.run(
        [python, "-m", "pytest", "-q", "-c", str(ini), "--rootdir", str(NOTEBOOKS),
         "-p", "no:cacheprovider", "--nbval", "--nbval-current-env", "--nbval-cell-timeout",
         CELL_TIMEOUT, "--nbval-sanitize-with", str(sanitize), *map(str, notebooks)],
        cwd=workdir, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)


def remove_lesson_containers(lessons_dir: Path) -> None:
    """A failing notebook may leave detached containers behind: remove them (and their shims)."""
    from minidock_magic.errors import MinidockError
    from minidock_magic.facade import Minidock
    for home in lessons_dir.glob("*") if lessons_dir.is_dir() else ():
        if not (home / "containers").is_dir():
            continue
        engine = Minidock(home)
        for row in engine.containers.ps(all=True):
            with contextlib.suppress(MinidockError, OSError):  # best effort: the result is what matters
                engine.containers.remove(row.config.id, force=True)


def shorten(report: str, keep: int = 5000) -> str:
    """nbval's report is long: keep its first failures and its summary."""
    if len(report) <= 2 * keep:
        return report
    return f"{report[:keep]}\n[… {len(report) - 2 * keep} characters …]\n{report[-keep:]}"
