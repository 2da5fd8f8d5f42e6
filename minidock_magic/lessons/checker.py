"""The exercise checker: a registry of ``id -> test(engine) -> (status, message)``, and ``check``.

A test looks only at what the student's actions left behind in the engine (images, containers,
their writable layers, archives in the home, registry contents) and answers with one of three
statuses: ``DONE`` (a tick), ``HINT`` (something is there, but not yet right: say what to try),
``TODO`` (nothing done yet) or ``CANNOT`` (done as asked, but what the exercise is about does not
exist on this host — a UTS namespace under proot — so no tick is given, and the answer says why). Messages come in English and Chinese; ``check`` picks one.

>>> @exercise("0.1", "Say hello", "打个招呼")
... def _hello(engine):
...     return (DONE, Msg("hello", "你好")) if engine == "hi" else (TODO, Msg("say hi", "说 hi"))
>>> print(check("0.1", engine="hi"))
✔ 0.1 Done — hello
>>> print(check("0.1", engine="", lang="zh"))
○ 0.1 尚未开始 — 说 hi
>>> del EXERCISES["0.1"]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html import escape
from typing import Any

from .. import i18n
from ..errors import MinidockError
from ..results import Result

DONE, HINT, TODO, CANNOT = "done", "hint", "todo", "cannot"
LANGUAGES = i18n.LANGUAGES

_MARKS = {DONE: "✔", HINT: "✘", TODO: "○", CANNOT: "⊘", "unknown": "?"}
_LABELS = {"en": {DONE: "Done", HINT: "Not quite", TODO: "Not yet",
                  CANNOT: "Cannot be checked on this host", "unknown": "Unknown exercise"},
           "zh": {DONE: "完成", HINT: "还差一点", TODO: "尚未开始", CANNOT: "在这台机器上无法检查",
                  "unknown": "没有这道练习"}}
_COLOURS = {DONE: "#1b7f1b", HINT: "#a66400", TODO: "#555555", CANNOT: "#555555", "unknown": "#b00020"}
_BACKGROUNDS = {DONE: "#eaf7ea", HINT: "#fff4e0", TODO: "#f2f2f2", CANNOT: "#f2f2f2",
                "unknown": "#fdecee"}

@dataclass(frozen=True, slots=True)
class Msg:
    """One message in both languages. A hint may hold back its next step (``then``: usually the
    command) for a later try, so that the first answer names the idea and lets the student think."""

    en: str
    zh: str
    then: Msg | None = None

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def with_next_step(self, lang: str) -> str:
        if self.then is None:
            return self.text(lang)
        return f"{self.text(lang)} {_NEXT_STEP[lang]} {self.then.text(lang)}"


_NEXT_STEP = {"en": "— next step:", "zh": "——下一步："}


Outcome = tuple[str, Msg]
Test = Callable[[Any], Outcome]


@dataclass(frozen=True, slots=True)
class Exercise:
    id: str
    title: Msg
    test: Test


EXERCISES: dict[str, Exercise] = {}


def exercise(exercise_id: str, title_en: str, title_zh: str) -> Callable[[Test], Test]:
    """Register ``test`` as exercise ``exercise_id`` (``"4.1"``: lesson 4, exercise 1)."""
    def register(test: Test) -> Test:
        EXERCISES[exercise_id] = Exercise(exercise_id, Msg(title_en, title_zh), test)
        return test
    return register


def use_language(lang: str) -> str:
    """Choose the language of ``check``'s answers (and of diagrams, summaries) for this kernel."""
    return i18n.use_language(lang)


def current_language(lang: str | None = None) -> str:
    """``lang`` if given, else what ``use_language`` chose, else ``$MINIDOCK_LANG``, else English."""
    return i18n.current_language(lang)


def current_engine() -> Any:
    """The engine ``%dock`` uses in this kernel (after ``%config DockMagics.home = …``), or the
    default home's engine outside a notebook."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if get is not None else None
    if shell is not None:
        magics = shell.magics_manager.registry.get("DockMagics")
        if magics is not None:
            return magics.engine
    from ..facade import Minidock
    return Minidock()


@dataclass(frozen=True, slots=True, repr=False)
class CheckResult(Result):
    """One exercise's answer: ``str()`` for a terminal, ``_repr_html_`` for a notebook."""

    id: str
    status: str
    title: str
    message: str
    lang: str = "en"

    @property
    def ok(self) -> bool:
        return self.status == DONE

    def __bool__(self) -> bool:
        return self.ok

    @property
    def label(self) -> str:
        return _LABELS[self.lang][self.status]

    def __str__(self) -> str:
        return f"{_MARKS[self.status]} {self.id} {self.label} — {self.message}"

    def _repr_html_(self) -> str:
        colour, background = _COLOURS[self.status], _BACKGROUNDS[self.status]
        title = f" <span style='color:#555'>({escape(self.title)})</span>" if self.title else ""
        return (f"<div style='border-left:4px solid {colour};background:{background};"
                f"padding:4px 8px;margin:2px 0'><b style='color:{colour}'>{_MARKS[self.status]} "
                f"{escape(self.id)} {escape(self.label)}</b>{title}<br>{escape(self.message)}</div>")


@dataclass(frozen=True, repr=False)
class CheckReport(Result):
    """Several answers at once: ``check("4")`` checks every exercise of lesson 4."""

    results: tuple[CheckResult, ...]

    def __iter__(self) -> Iterator[CheckResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.results)

    def _repr_html_(self) -> str:
        return "".join(r._repr_html_() for r in self.results)


def _ordered(ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda i: tuple(int(p) if p.isdigit() else p for p in i.split(".")))


def check(exercise_id: str, engine: Any = None, *, lang: str | None = None) -> CheckResult | CheckReport:
    """Check exercise ``"4.1"`` (or every exercise of lesson ``"4"``) against the engine's state."""
    from . import exercises  # noqa: F401  (registers the lessons' exercises)
    lang = current_language(lang)
    wanted = str(exercise_id).strip()
    if wanted in EXERCISES:
        return _run(EXERCISES[wanted], engine, lang)
    lesson = [i for i in EXERCISES if i.split(".")[0].lstrip("0") == wanted.lstrip("0")]
    if "." not in wanted and lesson:
        engine = engine if engine is not None else current_engine()
        return CheckReport(tuple(_run(EXERCISES[i], engine, lang) for i in _ordered(lesson)))
    known = ", ".join(_ordered(list(EXERCISES)))
    message = Msg(f"there is no exercise {wanted!r}; the exercises are {known}",
                  f"没有编号为 {wanted!r} 的练习；现有练习：{known}")
    return CheckResult(wanted, "unknown", "", message.text(lang), lang)


def _run(item: Exercise, engine: Any, lang: str) -> CheckResult:
    engine = engine if engine is not None else current_engine()
    try:
        status, message = item.test(engine)
    except MinidockError as error:  # the store refused to answer: that is a hint, not a crash
        status, message = HINT, Msg(f"the checker could not look: {error}", f"检查程序无法查看：{error}")
    return CheckResult(item.id, status, item.title.text(lang), _progressive(item.id, status, message, lang),
                       lang)


_tries: dict[tuple[str, str, str], int] = {}


def _progressive(exercise_id: str, status: str, message: Msg, lang: str) -> str:
    """The nudge the first time a student gets this answer; with its next step from then on."""
    if status == DONE or message.then is None:
        return message.text(lang)
    key = (exercise_id, status, message.en)
    _tries[key] = _tries.get(key, 0) + 1
    return message.with_next_step(lang) if _tries[key] > 1 else message.text(lang)


def forget_tries() -> None:
    """Start every exercise's hints again from the first nudge (a new class, a test)."""
    _tries.clear()


__all__ = ["DONE", "EXERCISES", "HINT", "TODO", "CheckReport", "CheckResult", "Exercise", "Msg",
           "check", "current_engine", "current_language", "exercise", "forget_tries", "use_language"]
