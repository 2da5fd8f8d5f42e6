"""The build modules' doctests (the pure rules — grammar, substitution, ignore patterns — are
specified by their examples)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["build.words", "build.parser", "build.plan", "build.ignore",
                                    "build.cache", "commands.build"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"minidock_magic.{module}"))
    assert result.failed == 0 and result.attempted > 0
