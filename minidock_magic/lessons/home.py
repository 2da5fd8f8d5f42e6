"""Where a lesson keeps its store: a fresh home per run, so lessons run in any order and re-run clean."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

#: Homes of earlier runs are tidied away once they are this old (and nothing in them runs).
STALE_SECONDS = 24 * 3600


def lessons_dir() -> Path:
    """``$MINIDOCK_LESSONS_DIR``, else ``~/.minidock-lessons``."""
    return Path(os.environ.get("MINIDOCK_LESSONS_DIR") or Path.home() / ".minidock-lessons")


def fresh_home(lesson: str) -> str:
    """A new, empty directory ``<lessons dir>/<lesson>-XXXXXXXX`` for one run of a lesson."""
    base = lessons_dir()
    base.mkdir(parents=True, exist_ok=True)
    _tidy(base, lesson)
    return tempfile.mkdtemp(prefix=f"{lesson}-", dir=base)


def _tidy(base: Path, lesson: str) -> None:
    cutoff = time.time() - STALE_SECONDS
    for old in base.glob(f"{lesson}-*"):
        try:
            if not old.is_dir() or old.stat().st_mtime > cutoff or _has_running(old):
                continue
        except OSError:
            continue
        shutil.rmtree(old, ignore_errors=True)


def _has_running(home: Path) -> bool:
    if not (home / "containers").is_dir():
        return False
    from ..errors import MinidockError
    from ..facade import Minidock
    try:
        return len(Minidock(home).containers.ps()) > 0
    except (MinidockError, OSError, ValueError):  # an unreadable old home: leave it alone
        return True


__all__ = ["fresh_home", "lessons_dir"]
