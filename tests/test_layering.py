"""The architecture, checked: the engine never imports notebook libraries; dependencies point down;
every module of the package has a layer."""

import pkgutil
import shutil
import subprocess
import tomllib
from pathlib import Path

import minidock_magic

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_import_contracts_hold():
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is in the test extra: pip install -e '.[test]'"
    result = subprocess.run([lint], capture_output=True, text=True, cwd=PYPROJECT.parent)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_every_module_has_a_layer():
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    layered = {name.strip() for layer in layers for name in layer.split("|")}
    assert not any(":" in layer for layer in layers), "siblings are independent: join them with '|'"
    modules = {f"minidock_magic.{m.name}" for m in pkgutil.iter_modules(minidock_magic.__path__)}
    assert modules - layered == set(), "give these modules a layer in pyproject.toml"
