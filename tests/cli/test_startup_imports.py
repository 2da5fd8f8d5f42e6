"""What the ``minidock`` process imports on its way: httpx without httpx's own command-line client,
and a container start without what only other commands need.

httpx imports its CLI (click, rich, pygments) whenever they are installed; ``minidock`` marks it
absent first (``cli._skip_httpx_cli``), ~70 ms of every pull/push/login process. Speed is measured
in benchmarks/ (``python -m benchmarks.ab``); this only guards the mechanism.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minidock_magic.facade import Minidock
from tests.servers import DockerRegistry

CHECK = """\
import sys
from minidock_magic.cli import main
code = main(["--home", sys.argv[1], "logout", "127.0.0.1:1"])
print(code, "httpx" in sys.modules, sorted({"click", "rich", "pygments"} & set(sys.modules)),
      "minidock_magic.remotes.pull" in sys.modules, "minidock_magic.results" in sys.modules)
"""


def test_a_registry_command_imports_httpx_but_not_its_cli(tmp_path: Path) -> None:
    """… nor the result tables, which only a pull's or push's summary line needs."""
    result = subprocess.run([sys.executable, "-c", CHECK, str(tmp_path / "home")],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "0 True [] True False", result.stdout


def test_httpx_still_works_without_its_cli_module() -> None:
    code = ("from minidock_magic.cli import _skip_httpx_cli\n_skip_httpx_cli()\nimport httpx\n"
            "print(httpx.URL('http://127.0.0.1:5000/v2/').host, callable(httpx.main))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "127.0.0.1 True"


#: What only other commands need: layer tars (tarfile, decimal), secrets' hmac and hashlib, the
#: result tables, password prompts, the notebook-only commands. A start from a stored image
#: (``run``/``create`` once the image is unpacked) must not pay for any of them.
NOT_ON_THE_START_PATH = {"tarfile", "decimal", "secrets", "getpass", "minidock_magic.results",
                         "minidock_magic.diff.members", "minidock_magic.commands.notebook"}

CREATE = """\
import sys
from minidock_magic.cli import main
code = main(["--home", sys.argv[1], "create", "busybox", "true"])
print(code, sorted(set(sys.argv[2].split(",")) & set(sys.modules)))
"""


def test_a_container_start_imports_only_what_it_needs(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    check = [sys.executable, "-c", CREATE, home, ",".join(sorted(NOT_ON_THE_START_PATH))]
    subprocess.run(check, capture_output=True, text=True, check=True)  # makes busybox, unpacks it
    result = subprocess.run(check, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stdout


#: A pull stores blobs and names; it unpacks nothing (``create``/``run`` do, on first use), so
#: nothing of layers, containers or the runtime; with ``-q`` no progress bars; its HTTP goes
#: through ``StdlibTransport``, so no httpcore/h11; and none of what the start path is spared.
NOT_ON_THE_PULL_PATH = NOT_ON_THE_START_PATH | {
    "tqdm", "httpcore", "h11", "sqlite3", "minidock_magic.diff", "minidock_magic.containers",
    "minidock_magic.runtime", "minidock_magic.images.unpack"}

PULL = """\
import sys
from minidock_magic.cli import main
code = main(["--home", sys.argv[1], "pull", "-q", sys.argv[2]])
print(code, sorted(set(sys.argv[3].split(",")) & set(sys.modules)))
"""


@pytest.mark.integration
def test_a_pull_imports_only_what_it_needs(tmp_path: Path, busybox_engine: Minidock) -> None:
    registry = DockerRegistry(tmp_path / "registry")
    try:
        name = f"{registry.address}/me/busybox:1"
        busybox_engine.tag("busybox", name)
        busybox_engine.push(name, quiet=True)
        check = [sys.executable, "-c", PULL, str(tmp_path / "home"), name,
                 ",".join(sorted(NOT_ON_THE_PULL_PATH))]
        result = subprocess.run(check, capture_output=True, text=True, check=True)
    finally:
        registry.stop()
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stdout
