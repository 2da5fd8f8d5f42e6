"""The Chinese edition is Chinese all the way: no line break inside a Chinese sentence, and what
the kit itself says — checker answers, diagram labels, summaries — is in Chinese too."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tests.lessons.helpers import NOTEBOOKS

CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
BLOCK = re.compile(r"^\s*([-*+] |\d+\. |\||#|```|>)")
CHINESE = sorted((NOTEBOOKS / "zh").rglob("[0-9][0-9]-*.ipynb"))


def paragraph_breaks(markdown: str) -> list[tuple[str, str]]:
    """(line, next line) pairs inside one paragraph: outside code fences, tables, lists, headings."""
    pairs, fenced, lines = [], False, markdown.split("\n")
    for line, after in zip(lines, lines[1:]):
        if line.startswith("```"):
            fenced = not fenced
        if fenced or not line.strip() or not after.strip() or BLOCK.match(line) or BLOCK.match(after):
            continue
        pairs.append((line, after))
    return pairs


@pytest.mark.parametrize("path", CHINESE, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_no_line_break_inside_a_chinese_sentence(path: Path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for line, after in paragraph_breaks(cell.source):
            assert not (CJK.search(line[-1:]) or CJK.match(after.strip()[:1])), (line, after)


@pytest.mark.parametrize("path", CHINESE, ids=lambda p: str(p.relative_to(NOTEBOOKS)))
def test_what_the_kit_says_is_chinese(path: Path):
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    for cell in cells:
        texts = [o["data"].get("text/plain", "") for o in cell.get("outputs", []) if "data" in o]
        svgs = [o["data"]["image/svg+xml"] for o in cell.get("outputs", []) if "image/svg+xml" in o.get("data", {})]
        if cell.source.startswith("check("):
            assert texts and CJK.search(texts[0].split(" — ", 1)[1]), texts
        for svg in svgs:
            assert CJK.search(svg), cell.source  # labels and titles, not only the names in them
        if cell.source == "isolation()":
            assert CJK.search(texts[0])
        if "--trace" in cell.source and "push" in cell.source:
            streams = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            assert "个 HTTP 请求，按步骤分组" in streams


def test_engine_errors_in_the_chinese_lessons_carry_a_chinese_gloss():
    errors = []
    for path in CHINESE:
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                plain = output.get("data", {}).get("text/plain", "")
                if plain.startswith("Error: "):
                    errors.append(plain)
    assert any("未授权" in e for e in errors) and any("被拒绝" in e for e in errors), errors
    assert all(CJK.search(e) for e in errors if "unauthorized" in e or "denied" in e), errors
