"""Fixtures of the adversarial suite: busybox containers carrying ``sysprobe``, and the report.

Each case says what it tried and what held (``tried:``/``held:`` lines, shown with ``-s``), the
way runc's and moby's integration suites document their escapes. ``sysprobe`` is a small static
C program (``sysprobe.c``) that makes the syscalls busybox has no applet for (keyctl, clone3,
kexec_load …) and prints ``NAME=OK`` or ``NAME=ERRNO``.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock
from tests.conftest import need
# The cases are counted with the reliability suites' tally (tried / held, summed up at the end of
# the run, under -n 2 too).
from tests.reliability.conftest import pytest_configure, pytest_terminal_summary  # noqa: F401

HERE = Path(__file__).parent

def report(tried: str, held: str) -> None:
    print(f"tried: {tried}\nheld:  {held}")


def build_sysprobe(directory: Path) -> Path:
    target = directory / "sysprobe"
    subprocess.run([need("gcc"), "-static", "-O1", "-o", str(target), str(HERE / "sysprobe.c")],
                   check=True, capture_output=True)
    return target


@pytest.fixture(scope="session")
def sysprobe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sysprobe(tmp_path_factory.mktemp("sysprobe"))


def probe_results(output: str) -> dict[str, str]:
    """``NAME=RESULT`` lines of sysprobe's output."""
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line
                and not line.startswith(("Cap", "Seccomp")))


def status_fields(text: str) -> dict[str, str]:
    """/proc/PID/status as a dict."""
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


def cli(engine: Minidock, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    """The real ``minidock`` command line on ``engine``'s home."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "minidock_magic.cli", "--home", str(engine.home),
                           *args], timeout=120, **kwargs)  # type: ignore


@dataclass
class Box:
    """A busybox container with /sysprobe in it."""

    engine: Minidock
    name: str

    @property
    def pid(self) -> int:
        return int(self.engine.containers.inspect(self.name)["State"]["Pid"])

    def exec(self, *argv: str, user: str | None = None) -> tuple[int, str]:
        out = io.BytesIO()
        code = self.engine.containers.exec(self.name, list(argv), user=user, stdout=out,
                                           stderr=out)
        return code, out.getvalue().decode(errors="replace")

    def run_attached(self) -> tuple[int, str]:
        out = io.BytesIO()
        _, code = self.engine.containers.start(self.name, attach=True, stdout=out, stderr=out)
        return code, out.getvalue().decode(errors="replace")

    def pid1_status(self) -> dict[str, str]:
        return status_fields(Path(f"/proc/{self.pid}/status").read_text())


BoxFactory = Callable[..., Box]


@pytest.fixture
def make_box(busybox_engine: Minidock, sysprobe: Path) -> Iterator[BoxFactory]:
    """``make_box(*command, start=True, **RunOptions)``: a container with /sysprobe; by default
    started detached running ``sleep 600``."""
    made: list[str] = []

    def make(*command: str, start: bool = True, **options: object) -> Box:
        config = busybox_engine.containers.create(
            "busybox", RunOptions(command=list(command or ("sleep", "600")), **options))
        made.append(config.name)
        busybox_engine.containers.copy(str(sysprobe), f"{config.name}:/sysprobe")
        if start:
            busybox_engine.containers.start(config.name)
        return Box(busybox_engine, config.name)

    yield make
    for name in made:
        busybox_engine.containers.remove(name, force=True)
