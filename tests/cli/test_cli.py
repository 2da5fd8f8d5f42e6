"""The ``minidock`` command: docker's grammar, one-line errors, docker's exit codes."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def minidock(home: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "MINIDOCK_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "minidock_magic.cli", *args], env=env,
                          capture_output=True, input=stdin)


@pytest.fixture
def home(busybox_home: Path, tmp_path: Path) -> Path:
    import shutil
    target = tmp_path / "home"
    shutil.copytree(busybox_home, target, symlinks=True)
    return target


def test_images_lists_busybox(home):
    result = minidock(home, "images")
    assert result.returncode == 0
    header, row = result.stdout.decode().splitlines()
    assert header.split()[:3] == ["REPOSITORY", "TAG", "IMAGE"]
    assert row.split()[:2] == ["busybox", "latest"]


def test_inspect_prints_json_list(home):
    result = minidock(home, "image", "inspect", "busybox")
    data = json.loads(result.stdout)
    assert isinstance(data, list) and data[0]["RepoTags"] == ["busybox:latest"]


def test_usage_error_exit_125_one_line(home):
    result = minidock(home, "images", "--bogus")
    assert result.returncode == 125
    assert len(result.stderr.decode().strip().splitlines()) == 1
    assert b"unrecognized arguments: --bogus" in result.stderr


def test_missing_image_exit_1_one_line(home):
    result = minidock(home, "history", "nothere")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == "Error: No such image: nothere"


def test_bad_tag_changes_nothing(home):
    before = (home / "oci/index.json").read_bytes()
    result = minidock(home, "tag", "busybox", "Bad Name")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert (home / "oci/index.json").read_bytes() == before


def test_help_exits_zero(home):
    result = minidock(home, "--help")
    assert result.returncode == 0 and b"images" in result.stdout
    assert minidock(home, "save", "--help").returncode == 0


def test_save_load_round_trip_through_files(home, tmp_path):
    archive = tmp_path / "bb.tar"
    assert minidock(home, "save", "-o", str(archive), "busybox").returncode == 0
    other = tmp_path / "other"
    result = minidock(other, "load", "-i", str(archive))
    assert result.returncode == 0 and result.stdout.decode().strip() == "Loaded image: busybox:latest"
    assert minidock(other, "load", "-i", str(tmp_path / "nope.tar")).returncode == 1


def test_save_to_stdout_and_load_from_stdin(home, tmp_path):
    saved = minidock(home, "save", "busybox")
    assert saved.returncode == 0 and len(saved.stdout) > 100_000
    loaded = minidock(tmp_path / "other", "load", stdin=saved.stdout)
    assert loaded.returncode == 0


def test_system_check_exit_status(home):
    assert minidock(home, "system", "check").returncode == 0
    blob = next((home / "oci/blobs/sha256").iterdir())
    os.chmod(blob, 0o644)
    data = bytearray(blob.read_bytes())
    data[0] ^= 0xFF
    blob.write_bytes(bytes(data))
    result = minidock(home, "system", "check")
    assert result.returncode == 1 and f"corrupt: sha256:{blob.name}".encode() in result.stdout


def test_only_the_chosen_command_gets_a_parser():
    """Making all ~80 parsers costs more than the rest of parsing: a command makes its own only,
    while --help and a mistyped command still name every command."""
    from minidock_magic.commands import UsageError, build_parser

    parser = build_parser()
    subcommands = next(a for a in parser._actions if a.dest == "subcommand")
    args = parser.parse_args(["container", "ls", "-a"])
    assert args.all and args.handler.__name__ == "cmd_ps"
    made = [name for name, entry in subcommands.choices._entries.items()
            if isinstance(entry, argparse.ArgumentParser)]
    assert made == ["container"]
    assert all(name in parser.format_help() for name in ("run", "images", "registry", "system"))
    with pytest.raises(UsageError, match=r"invalid choice: 'nope' \(choose from 'run', 'create'"):
        build_parser().parse_args(["nope"])


def test_proot_as_root_is_asked_for_and_labelled_on_every_run(home):
    """proot confines nothing from root: never the default for root, and one WARNING line on
    every run that asks for it (the notebook shows the same stderr)."""
    if os.geteuid() != 0:
        pytest.skip("the warning is for root (a student's proot has only the student's power)")
    import shutil
    if shutil.which("proot") is None:
        pytest.skip("proot is not installed (apt-get install proot)")
    env_home = home
    first = minidock(env_home, "run", "--rm", "busybox", "echo", "hi")
    assert b"security boundary" not in first.stderr  # the default (namespaces) is not proot
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "minidock_magic.cli", "run", "--rm", "--isolation",
                               "proot", "busybox", "echo", "hi"], capture_output=True,
                              env={**os.environ, "MINIDOCK_HOME": str(env_home), "MINIDOCK_SNAPSHOTTER": "copy"})
        assert done.returncode == 0, done.stderr
        assert done.stdout == b"hi\n"
        assert done.stderr.count(b"WARNING: proot is not a security boundary") == 1, done.stderr
    info = minidock(env_home, "info")
    assert b"not a security boundary" in info.stdout
