"""No lesson code line is wider than what a student sees without scrolling sideways.

A code cell's line that runs past the editor's right edge hides its end — often the part the text
explains (the script of a ``sh -c``, the name a commit makes). ``CODE_LINE_LIMIT`` is measured in
JupyterLab and Notebook 7 at 1280 px (``tests/browser`` checks it is still in view there); every
edition is checked as generated (English, Chinese, their solutions), a Chinese character counting
as two columns, as it is drawn about twice as wide as a Latin one.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import nbformat
import pytest

from tests.lessons.helpers import CODE_LINE_LIMIT, NOTEBOOKS, lesson_notebooks


def columns(line: str) -> int:
    """How many columns ``line`` takes in a monospaced editor: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)


def too_long(path: Path) -> list[str]:
    return [line for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"
            for line in cell.source.splitlines() if columns(line) > CODE_LINE_LIMIT]


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda path: str(path.relative_to(NOTEBOOKS)))
def test_no_code_line_is_wider_than_the_editor(path: Path):
    assert too_long(path) == [], f"longer than {CODE_LINE_LIMIT} columns"


def test_a_chinese_character_takes_two_columns():
    assert columns("# 时间戳 ok") == 11
