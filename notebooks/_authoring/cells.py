"""The building blocks of a lesson source: prose in two languages, code shared by both editions.

A lesson source (``lessonNN.py``) lists cells; ``build.py`` turns each into four notebooks: the
lesson and its solutions, in English and in Chinese. Code cells are the same in every edition;
an exercise cell is a stub in the lesson and the worked answer in the solutions.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    kind: str                 # "markdown" | "code"
    en: str
    zh: str
    solved: str | None = None  # exercise cells: the code of the solutions edition

    def source(self, lang: str, solutions: bool) -> str:
        if solutions and self.solved is not None:
            return self.solved
        return self.zh if lang == "zh" else self.en


def _clean(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


_BLOCK = re.compile(r"^\s*([-*+] |\d+\. |\||#|```|>)")
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\u2014\u201c\u201d"
_CJK_END = re.compile(f"[{_CJK}]$")
_CJK_START = re.compile(f"^[{_CJK}]")
_CJK_PUNCT_END = re.compile("[\u3000-\u303f\uff00-\uffef\u2014\u201c\u201d]$")


def join_cjk_lines(text: str) -> str:
    """Markdown turns a line break inside a paragraph into a space, which Chinese text does not
    want: join a line that ends in a Chinese character or punctuation mark to the next one, and
    a line to a next one that starts with one."""
    lines, fenced = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        previous = lines[-1] if lines else ""
        if (lines and not fenced and line.strip() and previous.strip()
                and (_CJK_END.search(previous) or _CJK_START.match(line.strip()))
                and not _BLOCK.match(line) and not previous.lstrip().startswith(("|", "```", "#"))):
            # "的 manifest" keeps its space; "的层" and "：**任何人" do not get one
            joint = "" if _CJK_START.match(line.strip()) or _CJK_PUNCT_END.search(previous) else " "
            lines[-1] = previous + joint + line.strip()
        else:
            lines.append(line)
    return "\n".join(lines)


def md(en: str, zh: str) -> Cell:
    return Cell("markdown", _clean(en), join_cjk_lines(_clean(zh)))


def code(source: str, zh: str | None = None) -> Cell:
    """A code cell; ``zh`` only when the Chinese edition needs other words in it (a comment)."""
    return Cell("code", _clean(source), _clean(zh if zh is not None else source))


def work(en: str, zh: str, solved: str) -> Cell:
    """An exercise's working cell: a stub to fill in (``en``/``zh``), and the answer (``solved``)."""
    return Cell("code", _clean(en), _clean(zh), _clean(solved))


def setup(lesson: str) -> Cell:
    """The first code cell of every lesson: reproducible digests, a fresh store, the magic."""
    body = """
        import os
        # {epoch}
        os.environ["SOURCE_DATE_EPOCH"] = "0"
        from minidock_magic.lessons import check, digests, fresh_home
        from minidock_magic.lessons import isolation, use_language
        use_language("{lang}")
        HOME = fresh_home("{lesson}")  # {home}
        %load_ext minidock_magic
        %config DockMagics.home = HOME
    """
    en = _clean(body).format(lang="en", lesson=lesson,
                             epoch="timestamps clamped to 1970: same inputs, same digests",
                             home="a new, empty store for this run of the lesson")
    zh = _clean(body).format(lang="zh", lesson=lesson, epoch="时间戳固定为 1970 年：输入相同，摘要就相同",
                             home="本次运行专用的、全新的空存储")
    return Cell("code", en, zh)


INFO_EN = """
    Which isolation does this machine give containers? `namespaces` means real Linux namespaces
    (the strongest), `rootless` means namespaces inside a user namespace (no root needed), `proot`
    means a user-space fallback where the host forbids namespaces (some hosted notebooks do).
    Every lesson works with all three; `%dock info` gives the full report.
"""
INFO_ZH = """
    这台机器给容器的是哪种隔离？`namespaces` 表示真正的 Linux 命名空间（最强），`rootless` 表示在用户命名空间里使用命名空间（不需要 root），`proot` 表示宿主机禁止命名空间时（有些在线 notebook 平台如此）使用的用户态替代方案。三种方式下所有课程都能进行；`%dock info` 给出完整报告。
"""


def info() -> list[Cell]:
    return [md(INFO_EN, INFO_ZH), code("isolation()")]


__all__ = ["Cell", "code", "info", "md", "setup", "work"]
