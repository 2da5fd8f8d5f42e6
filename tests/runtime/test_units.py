"""The runtime's pure parts: spec checks, user lookup, command lookup, path resolution."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minidock_magic.errors import InvalidArgument, NotFound
from minidock_magic.runtime import OverlayMount, ProcessSpec, ResourceLimits
from minidock_magic.runtime.command import CommandFailure, find_executable
from minidock_magic.runtime.safepath import ensure_dir_in_root, resolve_in_root
from minidock_magic.runtime.spec import checked
from minidock_magic.runtime.users import resolve_user

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\n"


def test_spec_round_trips_through_json(tmp_path: Path) -> None:
    original = ProcessSpec(
        rootfs=tmp_path, argv=["sh", "-c", "x"], env=["A=1"], cwd="/w", user="1:2",
        hostname="h", network="host", stdin=True, read_only=True, extra_hosts=[("db", "1.2.3.4")],
        overlay=OverlayMount([tmp_path / "l"], tmp_path / "u", tmp_path / "w"),
        limits=ResourceLimits(memory=1, cpus=0.5, pids=3))
    assert ProcessSpec.from_json(original.to_json()) == original


@pytest.mark.parametrize(("change", "message"), [
    ({"argv": []}, "no command"),
    ({"env": ["NOEQUALS"]}, "NAME=VALUE"),
    ({"cwd": "relative"}, "absolute"),
    ({"network": "bridge"}, "network"),
    ({"limits": ResourceLimits(memory=-1)}, "positive"),
    ({"extra_hosts": [("a b", "1.2.3.4")]}, "extra host"),
])
def test_bad_specs_fail_with_one_line(tmp_path: Path, change: dict[str, object],
                                      message: str) -> None:
    fields: dict[str, object] = {"rootfs": tmp_path, "argv": ["true"], "env": [], **change}
    with pytest.raises(InvalidArgument, match=message):
        checked(ProcessSpec(**fields))  # type: ignore[arg-type]


def test_checked_resolves_paths(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    assert checked(ProcessSpec(tmp_path / "link", ["x"], [])).rootfs == tmp_path / "real"
    with pytest.raises(NotFound):
        checked(ProcessSpec(tmp_path / "missing", ["x"], []))
    comma = tmp_path / "a,b"
    comma.mkdir()
    with pytest.raises(InvalidArgument, match="overlayfs"):
        checked(ProcessSpec(tmp_path / "real", ["x"], [], overlay=OverlayMount([comma])))


def test_users_follow_docker() -> None:
    app = resolve_user("app", PASSWD, GROUP)
    assert (app.uid, app.gid, app.groups, app.home) == (1000, 1000, (1000, 50), "/home/app")
    assert resolve_user("1000", PASSWD, GROUP).name == "app"
    assert resolve_user("4242", PASSWD, GROUP).gid == 0  # unknown uid: allowed, gid 0
    assert resolve_user("app:staff", PASSWD, GROUP).groups == (50,)
    with pytest.raises(InvalidArgument, match="unable to find group nope"):
        resolve_user("app:nope", PASSWD, GROUP)


def test_command_lookup(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    tool = tmp_path / "bin" / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    (tmp_path / "data").write_text("")

    def to_host(p: str) -> str:
        return str(resolve_in_root(tmp_path, p))

    assert find_executable("tool", ["PATH=/usr/bin:/bin"], "/", to_host) == "/bin/tool"
    missing = find_executable("nope", ["PATH=/bin"], "/", to_host)
    assert missing == CommandFailure(127, 'exec: "nope": executable file not found in $PATH')
    assert isinstance(find_executable("/data", [], "/", to_host), CommandFailure)
    assert find_executable("/data", [], "/", to_host).status == 126  # type: ignore[union-attr]
    assert find_executable("./bin/tool", [], "/", to_host) == "/bin/tool"
    assert find_executable("/bin", [], "/", to_host).status == 126  # type: ignore[union-attr]


def test_resolution_never_leaves_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "loop").symlink_to("loop")
    (root / "abs").symlink_to("/../../../etc")
    (root / "rel").symlink_to("../../..")
    assert resolve_in_root(root, "/abs/passwd") == root / "etc" / "passwd"
    assert resolve_in_root(root, "/rel/rel/x") == root / "x"
    with pytest.raises(InvalidArgument, match="symbolic links"):
        resolve_in_root(root, "/loop")
    made = ensure_dir_in_root(root, "/rel/new/dir")
    assert made == root / "new" / "dir" and made.is_dir()
    assert not (tmp_path / "new").exists() and os.path.isdir(root / "new")
