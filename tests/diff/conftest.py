"""Fixtures for the layer tests, and the hostile-tar suite's tally at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.diff.helpers import Jail

TALLY = pytest.StashKey[dict[str, list[str]]]()


@pytest.fixture
def jail(tmp_path: Path) -> Iterator[Jail]:
    host = tmp_path / "outer" / "host"
    root = host / "rootfs"
    root.mkdir(parents=True)
    (host / "sentinel").write_text("host secret\n")
    (tmp_path / "outer" / "sentinel").write_text("outer secret\n")
    (host / "etc").mkdir()
    (host / "etc" / "passwd").write_text("root:x:0:0:host:/root:/bin/sh\n")
    yield Jail(tmp_path, host, root)


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> dict[str, list[str]]:
    """Hostile cases tried, and those that held (nothing outside the rootfs changed)."""
    return request.config.stash.setdefault(TALLY, {"tried": [], "held": []})


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    tally = config.stash.get(TALLY, None)
    if tally:
        terminalreporter.write_line(f"hostile-tar suite: {len(tally['tried'])} cases tried, "
                                    f"{len(tally['held'])} held (nothing outside the rootfs changed)")
