"""Fixtures for the lesson tests: a scratch directory whose leftover containers are removed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lessons.helpers import remove_lesson_containers


@pytest.fixture
def lesson_workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    remove_lesson_containers(tmp_path / "lessons")
