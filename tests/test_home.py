"""Where the default store is: one per user, following $HOME and $XDG_DATA_HOME, never shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minidock_magic.errors import Denied
from minidock_magic.home import default_home


def home_for(env: dict[str, str]) -> str:
    """default_home() in a fresh process with exactly this environment (platformdirs reads it)."""
    code = "from minidock_magic.home import default_home; print(default_home())"
    return subprocess.run([sys.executable, "-c", code], env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, check=True).stdout.strip()


def test_each_home_gets_its_own_store(tmp_path: Path) -> None:
    alice, bob = home_for({"HOME": str(tmp_path / "alice")}), home_for({"HOME": str(tmp_path / "bob")})
    assert alice == str(tmp_path / "alice" / ".local" / "share" / "minidock")
    assert bob == str(tmp_path / "bob" / ".local" / "share" / "minidock")


def test_xdg_data_home_is_followed_when_absolute(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path / "h")}
    assert home_for(env | {"XDG_DATA_HOME": str(tmp_path / "data")}) == str(tmp_path / "data" / "minidock")
    assert home_for(env | {"XDG_DATA_HOME": "relative/data"}) == str(tmp_path / "h/.local/share/minidock")
    assert home_for(env | {"MINIDOCK_HOME": str(tmp_path / "m")}) == str(tmp_path / "m")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
def test_someone_elses_store_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    theirs = tmp_path / "shared" / "minidock"
    theirs.mkdir(parents=True)
    os.chown(theirs, 65534, 65534)
    monkeypatch.delenv("MINIDOCK_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "shared"))
    with pytest.raises(Denied, match="belongs to uid 65534"):
        default_home()
    monkeypatch.setenv("MINIDOCK_HOME", str(theirs))  # chosen explicitly: the user's own call
    assert default_home() == theirs
