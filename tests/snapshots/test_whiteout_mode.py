"""``apply_layer(..., whiteouts="overlay")``: deletions recorded the way overlayfs reads them."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from minidock_magic.diff.apply import apply_layer
from minidock_magic.errors import InvalidArgument
from tests.diff.helpers import TarBuilder

USER = ("user.overlay.opaque",)
BOTH = ("trusted.overlay.opaque", "user.overlay.opaque")


def is_whiteout(path: Path) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def opaque(path: Path, name: str = "user.overlay.opaque") -> bool:
    try:
        return os.getxattr(path, name) == b"y"
    except OSError:
        return False


def apply(root: Path, layer: TarBuilder, **kw: object):  # type: ignore[no-untyped-def]
    return apply_layer(layer.stream(), root, whiteouts="overlay", **kw)  # type: ignore[arg-type]


def test_whiteouts_become_0_0_character_devices(tmp_path: Path) -> None:
    apply(tmp_path, TarBuilder().dir("etc").file("etc/.wh.motd").file(".wh.tmp"),
          opaque_xattrs=USER)
    assert sorted(os.listdir(tmp_path)) == ["etc", "tmp"]
    assert is_whiteout(tmp_path / "etc" / "motd") and is_whiteout(tmp_path / "tmp")


def test_a_whiteout_makes_its_missing_parent(tmp_path: Path) -> None:
    apply(tmp_path, TarBuilder().file("a/b/.wh.c"), opaque_xattrs=USER)
    assert (tmp_path / "a" / "b").is_dir() and is_whiteout(tmp_path / "a" / "b" / "c")


def test_opaque_marker_sets_the_xattr_and_deletes_nothing(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "old").write_text("kept: only a lower layer's file would be hidden")
    report = apply(tmp_path, TarBuilder().dir("cache").file("cache/.wh..wh..opq")
                   .file("cache/new", b"n").file("other/.wh..wh..opq"), opaque_xattrs=USER)
    assert opaque(tmp_path / "cache") and opaque(tmp_path / "other")
    assert sorted(os.listdir(tmp_path / "cache")) == ["new", "old"]
    assert not any(".wh." in name for _, _, names in os.walk(tmp_path) for name in names)
    assert report.skipped == []


@pytest.mark.skipif(os.geteuid() != 0, reason="trusted.* xattrs need root")
def test_root_writes_both_by_default_or_trusted_only_when_asked(tmp_path: Path) -> None:
    """Root's default is the overlay snapshotter's choice (diff/whiteout.py:opaque_xattrs_for)."""
    (tmp_path / "a").mkdir()
    apply(tmp_path / "a", TarBuilder().dir("d").file("d/.wh..wh..opq"))
    assert all(opaque(tmp_path / "a" / "d", name) for name in BOTH)
    (tmp_path / "b").mkdir()
    apply(tmp_path / "b", TarBuilder().dir("d").file("d/.wh..wh..opq"),
          opaque_xattrs=("trusted.overlay.opaque",))
    assert opaque(tmp_path / "b" / "d", "trusted.overlay.opaque")
    assert not opaque(tmp_path / "b" / "d", "user.overlay.opaque")


def test_whiteouts_never_hide_the_layers_own_entries(tmp_path: Path) -> None:
    report = apply(tmp_path, TarBuilder().file("x", b"mine").file(".wh.x"), opaque_xattrs=USER)
    assert (tmp_path / "x").read_bytes() == b"mine"
    assert any("own entry" in line for line in report.skipped)


def test_deleted_then_made_anew_is_opaque(tmp_path: Path) -> None:
    apply(tmp_path, TarBuilder().file(".wh.etc").dir("etc").file("etc/passwd", b"p")
          .file(".wh.var").file("var/log/x", b"x").file(".wh.f").file("f", b"file"),
          opaque_xattrs=USER)
    for name in ("etc", "var"):  # nothing of the lower etc/ or var/ may show through
        assert (tmp_path / name).is_dir() and opaque(tmp_path / name), name
    assert (tmp_path / "var" / "log" / "x").read_bytes() == b"x"
    assert (tmp_path / "f").read_bytes() == b"file"  # a file needs no opaque: it hides anyway
    assert not opaque(tmp_path / "var" / "log")


def test_a_real_0_0_device_in_a_layer_is_not_a_whiteout(tmp_path: Path) -> None:
    report = apply(tmp_path, TarBuilder().add("dev/weird", tarfile.CHRTYPE, mode=0o600),
                   opaque_xattrs=USER)
    assert not os.path.lexists(tmp_path / "dev" / "weird")
    assert any("deletion" in line for line in report.skipped)


def test_overlay_xattrs_in_a_layer_are_still_refused(tmp_path: Path) -> None:
    pax = {"SCHILY.xattr.user.overlay.opaque": "y", "SCHILY.xattr.trusted.overlay.redirect": "/x"}
    apply(tmp_path, TarBuilder().dir("d", pax=pax), opaque_xattrs=USER)
    assert not opaque(tmp_path / "d")  # only a marker makes a directory opaque


def test_delete_stays_the_default(tmp_path: Path) -> None:
    (tmp_path / "gone").write_text("x")
    apply_layer(TarBuilder().file(".wh.gone").stream(), tmp_path)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("kw", [{"whiteouts": "aufs"},
                                {"whiteouts": "overlay", "opaque_xattrs": ["user.evil"]},
                                {"whiteouts": "overlay", "opaque_xattrs": []}])
def test_bad_modes_are_refused(tmp_path: Path, kw: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument):
        apply_layer(TarBuilder().file("a").stream(), tmp_path, **kw)  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []
