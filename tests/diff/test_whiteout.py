"""The whiteout naming rules of image-spec layer.md."""

from __future__ import annotations

import pytest

from minidock_magic.diff.whiteout import (
    OPAQUE_MARKER, WHITEOUT_PREFIX, is_opaque, is_whiteout, opaque_marker, whiteout_name, whiteout_target,
)


def test_constants() -> None:
    assert WHITEOUT_PREFIX == ".wh."
    assert OPAQUE_MARKER == ".wh..wh..opq"


@pytest.mark.parametrize(("path", "member"), [
    ("/a/b", "a/.wh.b"), ("/b", ".wh.b"), ("a/b", "a/.wh.b"), ("./a//b/", "a/.wh.b"),
    ("/etc/.hidden", "etc/.wh..hidden"),
])
def test_whiteout_name(path: str, member: str) -> None:
    assert whiteout_name(path) == member
    assert whiteout_target(member) == path.strip("/").replace("./", "").replace("//", "/").rstrip("/")


def test_root_cannot_be_whited_out() -> None:
    with pytest.raises(ValueError):
        whiteout_name("/")


@pytest.mark.parametrize("member", ["a/b", "a/.wh..wh..opq", ".wh..wh.plnk", "a/.wh..wh.aufs", "x.wh.y"])
def test_not_a_deletion(member: str) -> None:
    assert whiteout_target(member) is None


@pytest.mark.parametrize(("member", "opaque"), [
    (".wh..wh..opq", True), ("./a/.wh..wh..opq", True), ("/a/b/.wh..wh..opq", True),
    ("a/.wh.opq", False), ("a/.wh..wh..opq/x", False), ("a/..wh..wh..opq", False),
])
def test_is_opaque(member: str, opaque: bool) -> None:
    assert is_opaque(member) is opaque


def test_marker_and_namespace() -> None:
    assert opaque_marker("/") == OPAQUE_MARKER
    assert opaque_marker("/var/cache/") == "var/cache/.wh..wh..opq"
    assert all(is_whiteout(m) for m in ("a/.wh.b", ".wh..wh..opq", ".wh..wh.plnk"))
    assert not is_whiteout("a/b.wh.")


@pytest.mark.parametrize(("member", "target"), [("a/.wh..", "a/."), ("a/.wh...", "a/.."), (".wh.", "")])
def test_degenerate_targets_are_returned_for_the_caller_to_refuse(member: str, target: str) -> None:
    assert whiteout_target(member) == target
