"""What the ``minidock`` process imports on its way: httpx without httpx's own command-line client.

httpx imports its CLI (click, rich, pygments) whenever they are installed; ``minidock`` marks it
absent first (``cli._skip_httpx_cli``), ~70 ms of every pull/push/login process. Speed is measured
in benchmarks/ (``python -m benchmarks.ab``); this only guards the mechanism.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = """\
import sys
from minidock_magic.cli import main
code = main(["--home", sys.argv[1], "logout", "127.0.0.1:1"])
print(code, "httpx" in sys.modules, sorted({"click", "rich", "pygments"} & set(sys.modules)))
"""


def test_a_registry_command_imports_httpx_but_not_its_cli(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "home")],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "0 True []", result.stdout


def test_httpx_still_works_without_its_cli_module() -> None:
    code = ("from minidock_magic.cli import _skip_httpx_cli\n_skip_httpx_cli()\nimport httpx\n"
            "print(httpx.URL('http://127.0.0.1:5000/v2/').host, callable(httpx.main))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "127.0.0.1 True"
