"""The benchmark harness runs end to end in ``--quick`` mode and yields real numbers (not speed)."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
MEASURED = (("container start, CLI process, bytecode cached (what a user gets: pip compiles it, "
             "Python may write it)"), "container start, warm Python process",
            "container start, warm process in parts",
            "push, end to end", "push, client only", "push, server only",
            "pull, end to end", "pull, client only", "pull, server only", "pull and unpack, client only",
            "unpack into a directory", "storage, 10 images on one base")


def test_harness_doctests() -> None:
    sys.path.insert(0, str(REPO))
    try:
        from benchmarks import harness, importtime, lessons, profile, report, start_floor
    finally:
        sys.path.remove(str(REPO))
    for module in (harness, importtime, lessons, profile, report, start_floor):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_quick_run_produces_rows_with_positive_numbers(tmp_path: Path) -> None:
    report = tmp_path / "results.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(report)],
                            cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "| benchmark |" in result.stdout
    rows = {row["name"]: row for row in json.loads(report.read_text())["rows"]}
    failed = {name: row["note"] for name, row in rows.items() if row["note"].startswith("failed")}
    assert not failed, f"{failed}\n{result.stderr[-4000:]}"
    for name in MEASURED:
        row = rows[name]
        assert row["ours"] and all(value > 0 for value in row["ours"]), row
        assert row["peer"] and all(value > 0 for value in row["peer"]), row
        assert row["ratio"] is not None and row["ratio"] > 0, row
    assert any(name.startswith("build") for name in rows)
    engine = rows["storage, the engine's own overhead"]
    assert engine["ours"] == rows["storage, 10 images on one base"]["ours"], "the same du, another floor"
    assert 0 < engine["peer"][0] <= engine["ours"][0], engine
    lessons = [row for name, row in rows.items() if name.startswith("lessons")]
    assert len(lessons) == 1, lessons
    assert lessons[0]["ours"] and lessons[0]["ours"][0] > 0, lessons  # --quick: one notebook, timed
    assert lessons[0]["extra"]["passed"] > 0, lessons


def test_pull_ab_prints_a_ratio_per_side(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.pull_ab", "--quick", "--runs", "1"],
                            cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("skopeo copy: median ") and lines[0].endswith("(median) 1.00"), lines
    assert lines[1].startswith(f"{REPO}: median ") and " ms, per-round ratio" in lines[1], lines
    assert float(lines[1].rsplit(" ", 1)[1]) > 0, lines
