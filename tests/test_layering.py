"""The architecture, checked: the engine never imports notebook libraries; dependencies point down."""

import shutil
import subprocess


def test_import_contracts_hold():
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is in the test extra: pip install -e '.[test]'"
    result = subprocess.run([lint], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout
