"""``pytest --nbval notebooks/`` as nbval's users type it, from the repository root, no flags.

What the command would otherwise need is set here, each only when not given on the command line:
- outputs are compared through ``sanitize.cfg`` (values that truly differ between runs, machines
  and isolation backends: each section says why);
- the kernel is this interpreter's own (``--nbval-current-env``), so the lessons run the
  minidock_magic this environment has installed, not whatever ``python3`` kernel is registered;
- a cell may take two minutes (a first pull, a build);
- the lessons' homes go to a scratch directory (``$MINIDOCK_LESSONS_DIR``), removed at the end
  with any container a failed lesson left running.
The authoring sources in ``_authoring/`` are not tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).parent
collect_ignore = ["_authoring"]
DEFAULT_CELL_TIMEOUT = 2000  # nbval's own default: it means "not given"
_scratch: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    option = config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return
    if option.nbval_sanitize_with is None:
        option.nbval_sanitize_with = str(HERE / "sanitize.cfg")
    if not option.nbval_kernel_name:
        option.nbval_current_env = True
    if int(option.nbval_cell_timeout) == DEFAULT_CELL_TIMEOUT:
        option.nbval_cell_timeout = 120
    if not os.environ.get("MINIDOCK_LESSONS_DIR"):
        scratch = Path(tempfile.mkdtemp(prefix="minidock-lessons-"))
        os.environ["MINIDOCK_LESSONS_DIR"] = str(scratch)  # the kernels inherit it
        _scratch.append(scratch)


def pytest_unconfigure(config: pytest.Config) -> None:
    for scratch in _scratch:
        _remove_containers(scratch)
        shutil.rmtree(scratch, ignore_errors=True)


def _remove_containers(lessons_dir: Path) -> None:
    from minidock_magic.errors import MinidockError
    from minidock_magic.facade import Minidock

    for home in lessons_dir.iterdir():
        if (home / "containers").is_dir():
            engine = Minidock(home)
            for row in engine.containers.ps(all=True):
                with contextlib.suppress(MinidockError, OSError):  # best effort, at the very end
                    engine.containers.remove(row.config.id, force=True)
