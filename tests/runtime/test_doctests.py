"""Run the doctests of the runtime's pure modules (testpaths only covers tests/)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["command", "etcfiles", "idmap", "rootfs", "safepath", "users", "_proot", "capabilities",
           "enter", "cgroups", "seccomp", "_spare"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"minidock_magic.runtime.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
