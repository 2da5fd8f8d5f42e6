"""The diff modules' doctests (the pure rules are specified by their examples)."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["whiteout", "changes", "safepath", "members", "writer", "apply", "layerstream"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"minidock_magic.diff.{module}"))
    assert result.failed == 0
