"""Every lesson — English and Chinese, as handed out and solved — re-run by nbval, outputs compared.

One test per lesson (its four editions in one nbval run), so ``-n 2`` spreads the lessons over
workers. A failure shows nbval's own report: which cell, and the output that differed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.lessons.helpers import NOTEBOOKS, lesson_notebooks, nbval, shorten

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EDITIONS = ["", "solutions/", "zh/", "zh/solutions/"]


def by_lesson() -> dict[str, list[Path]]:
    lessons: dict[str, list[Path]] = {}
    for path in lesson_notebooks():
        lessons.setdefault(path.name[:2], []).append(path)
    return lessons


LESSONS = by_lesson()


def test_there_are_nine_lessons_in_every_edition():
    names = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert [n[:2] for n in names] == [f"{i:02d}" for i in range(1, 10)]
    for edition in EDITIONS:
        assert sorted(p.name for p in (NOTEBOOKS / edition).glob("[0-9][0-9]-*.ipynb")) == names, edition


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_lesson_notebooks_reproduce_their_outputs(lesson, lesson_workdir):
    result = nbval(LESSONS[lesson], lesson_workdir)
    report = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert result.returncode == 0, shorten(report)
    assert " passed" in report and "failed" not in report.splitlines()[-1]


def code_cells(path: Path) -> list[str]:
    import nbformat
    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def check_outputs(path: Path) -> list[str]:
    """The text each ``check("…")`` cell answered with, as saved in the notebook."""
    import nbformat
    answers = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith("check("):
            texts = [o["data"]["text/plain"] for o in cell.outputs if "data" in o]
            answers.append(texts[0] if texts else "")
    return answers


@pytest.mark.parametrize("lesson", sorted(LESSONS))
def test_editions_agree_and_solutions_are_ticked(lesson):
    """Handed-out lessons answer "not yet" to every check, solutions a tick; both languages have
    the same cells, and only comments and printed words differ between their code."""
    english = NOTEBOOKS / LESSONS[lesson][0].name
    for edition in EDITIONS:
        path = NOTEBOOKS / edition / english.name
        answers = check_outputs(path)
        assert 2 <= len(answers) <= 3, path
        mark = "✔" if "solutions" in edition else "○"
        assert all(answer.startswith(mark) for answer in answers), (path, answers)
    for solutions in ("", "solutions/"):
        en, zh = code_cells(NOTEBOOKS / solutions / english.name), code_cells(NOTEBOOKS / "zh" / solutions / english.name)
        assert len(en) == len(zh)
        same = sum(a == b for a, b in zip(en, zh))
        assert same >= len(en) - 6, f"{english.name}: only {same} of {len(en)} code cells are identical"
        for a, b in zip(en, zh):
            magic = [line for line in a.splitlines() if line.lstrip().startswith("%")]
            assert magic == [line for line in b.splitlines() if line.lstrip().startswith("%")]
