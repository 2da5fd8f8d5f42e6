"""Lessons: checked exercises for the notebooks in ``notebooks/``.

In a notebook, after ``%load_ext minidock_magic`` and ``%config DockMagics.home = …``,
``check("4.1")`` looks at that store and answers with a tick, a hint, or "not yet";
``check("4")`` answers for every exercise of lesson 4. ``use_language("zh")`` switches the
answers to Chinese (or pass ``lang="zh"``).
"""

from __future__ import annotations

from . import exercises, network  # noqa: F401  (registers every lesson's exercises)
from .checker import (
    CANNOT,
    DONE,
    EXERCISES,
    HINT,
    TODO,
    CheckReport,
    CheckResult,
    Exercise,
    Msg,
    check,
    current_engine,
    current_language,
    exercise,
    forget_tries,
    use_language,
)
from .home import fresh_home, lessons_dir
from .network import free_port
from .show import digests, isolation

__all__ = ["CANNOT", "DONE", "EXERCISES", "HINT", "TODO", "CheckReport", "CheckResult", "Exercise", "Msg",
           "check", "current_engine", "current_language", "digests", "exercise", "forget_tries", "free_port",
           "fresh_home", "isolation", "lessons_dir", "use_language"]
