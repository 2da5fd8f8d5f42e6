"""The hostile-tar suite: layers that try to leave their rootfs, and must not.

Each case applies hand-built tars to ``top/outer/host/rootfs``; ``host`` holds a sentinel and an
``etc/passwd``, ``outer`` another sentinel. Whatever the case, nothing outside the rootfs may
appear or change (the ``jail`` snapshot), nor on the real host under a unique name. Refusals must
name the offending member.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from minidock_magic.diff.apply import ApplyLimits, ApplyReport, apply_layer
from minidock_magic.errors import TooLarge, UnsafeLayer
from tests.diff.helpers import Jail, TarBuilder

ESCAPE = f"minidock-escape-{os.getpid()}"  # a name no real host file has
REAL_HOST = [Path("/", ESCAPE), Path("/etc", ESCAPE), Path("/tmp", ESCAPE)]
CASES: dict[str, Callable[[Jail], None]] = {}


def case(fn: Callable[[Jail], None]) -> Callable[[Jail], None]:
    CASES[fn.__name__.removeprefix("case_")] = fn
    return fn


def apply(jail: Jail, *layers: TarBuilder | bytes, **kw: object) -> list[ApplyReport]:
    return [apply_layer(io.BytesIO(l if isinstance(l, bytes) else l.bytes()), jail.root, **kw)  # type: ignore[arg-type]
            for l in layers]


def refused(jail: Jail, member: str, *layers: TarBuilder | bytes, error: type[Exception] = UnsafeLayer) -> str:
    with pytest.raises(error) as caught:
        apply(jail, *layers)
    message = str(caught.value)
    assert member in message, f"the refusal should name {member!r}: {message}"
    assert "\n" not in message
    return message


def inside(jail: Jail, rel: str) -> Path:
    path = jail.root / rel
    assert path.exists() or path.is_symlink(), f"{rel} should have landed inside the rootfs"
    return path


# -- names that climb ---------------------------------------------------------------------------
@case
def case_dotdot(jail: Jail) -> None:
    refused(jail, "../x", TarBuilder().file("../x", b"pwn"))


@case
def case_dotdot_twice(jail: Jail) -> None:
    refused(jail, "../../x", TarBuilder().file("../../x", b"pwn"))


@case
def case_dotdot_deep_to_real_root(jail: Jail) -> None:
    refused(jail, ESCAPE, TarBuilder().file("../" * 30 + f"tmp/{ESCAPE}", b"pwn"))


@case
def case_absolute_lands_inside(jail: Jail) -> None:
    apply(jail, TarBuilder().file(f"/etc/{ESCAPE}", b"inside").file(f"/{ESCAPE}"))
    assert inside(jail, f"etc/{ESCAPE}").read_bytes() == b"inside"
    inside(jail, ESCAPE)


@case
def case_dotdot_in_the_middle(jail: Jail) -> None:
    refused(jail, "a/../../x", TarBuilder().dir("a").file("a/../../x"))


@case
def case_gnu_longname_dotdot(jail: Jail) -> None:
    name = "../" + "a" * 200
    refused(jail, name[:40], TarBuilder(tarfile.GNU_FORMAT).file(name))


@case
def case_pax_path_override(jail: Jail) -> None:
    refused(jail, "../../x", TarBuilder().file("innocent", b"pwn", pax={"path": "../../x"}))


@case
def case_nul_in_pax_path(jail: Jail) -> None:
    refused(jail, "x", TarBuilder().file("innocent", pax={"path": "x\0/../../sentinel"}))


# -- symlinks that point out --------------------------------------------------------------------
@case
def case_symlink_to_root_then_through(jail: Jail) -> None:
    apply(jail, TarBuilder().symlink("l", "/").file(f"l/etc/{ESCAPE}", b"inside"))
    assert inside(jail, f"etc/{ESCAPE}").read_bytes() == b"inside"


@case
def case_symlink_up_then_through(jail: Jail) -> None:
    apply(jail, TarBuilder().symlink("l", "../..").file("l/sentinel", b"inside"))
    assert inside(jail, "sentinel").read_bytes() == b"inside"
    assert os.readlink(jail.root / "l") == "../.."  # kept verbatim


@case
def case_symlink_up_split_across_layers(jail: Jail) -> None:
    apply(jail, TarBuilder().symlink("l", "../.."), TarBuilder().file("l/sentinel", b"inside"))
    assert inside(jail, "sentinel").read_bytes() == b"inside"


@case
def case_symlink_to_root_split_across_layers(jail: Jail) -> None:
    apply(jail, TarBuilder().symlink("l", "/"), TarBuilder().dir("l/etc").file(f"l/etc/{ESCAPE}"))
    inside(jail, f"etc/{ESCAPE}")


@case
def case_symlink_chain_out(jail: Jail) -> None:
    b = TarBuilder()
    for i in range(30):
        b.symlink(f"l{i}", f"l{i + 1}")
    apply(jail, b.symlink("l30", "../../../../../..").file("l0/sentinel", b"inside"))
    inside(jail, "sentinel")


@case
def case_symlink_loop(jail: Jail) -> None:
    refused(jail, "a/x", TarBuilder().symlink("a", "b").symlink("b", "a").file("a/x"))


@case
def case_write_onto_a_symlink_replaces_it(jail: Jail) -> None:
    apply(jail, TarBuilder().symlink("l", "../sentinel"), TarBuilder().file("l", b"pwn"))
    assert not (jail.root / "l").is_symlink() and (jail.root / "l").read_bytes() == b"pwn"


@case
def case_dir_replaced_by_symlink_out_then_file_beneath(jail: Jail) -> None:
    apply(jail, TarBuilder().dir("d").file("d/keep").symlink("d", "../../../..").file("d/sentinel", b"in"))
    assert inside(jail, "sentinel").read_bytes() == b"in"


@case
def case_dir_replaced_by_symlink_out_across_layers(jail: Jail) -> None:
    apply(jail, TarBuilder().dir("d").file("d/keep"),
          TarBuilder().symlink("d", "/.."), TarBuilder().file("d/sentinel", b"in"))
    assert inside(jail, "sentinel").read_bytes() == b"in"


@case
def case_symlink_named_dot(jail: Jail) -> None:
    refused(jail, "'.'", TarBuilder().symlink(".", "/etc"))


@case
def case_file_named_dot_slash(jail: Jail) -> None:
    refused(jail, "./", TarBuilder().add("./", tarfile.REGTYPE, b"x"))


@case
def case_dir_named_dot_slash_cannot_lock_root(jail: Jail) -> None:
    apply(jail, TarBuilder().dir("./", mode=0o000).file("after"))
    assert os.access(jail.root, os.W_OK | os.X_OK) and inside(jail, "after")


@case
def case_parent_is_a_file_via_symlink(jail: Jail) -> None:
    refused(jail, "l/x", TarBuilder().file("f").symlink("l", "f").file("l/x"))


# -- whiteouts ----------------------------------------------------------------------------------
@case
def case_whiteout_through_symlink_to_root(jail: Jail) -> None:
    (jail.root / "sentinel").write_text("rootfs copy")
    apply(jail, TarBuilder().symlink("l", "/"), TarBuilder().file("l/.wh.sentinel"))
    assert not (jail.root / "sentinel").exists()  # deleted inside; the host's one is in the snapshot


@case
def case_whiteout_through_symlink_up(jail: Jail) -> None:
    apply(jail, TarBuilder().symlink("l", "../../.."), TarBuilder().file("l/.wh.sentinel").file("l/.wh.etc"))


@case
def case_whiteout_dotdot(jail: Jail) -> None:
    refused(jail, "../.wh.sentinel", TarBuilder().file("../.wh.sentinel"))


@case
def case_whiteout_of_dot_and_dotdot(jail: Jail) -> None:
    (jail.root / "d").mkdir()
    refused(jail, "d/.wh..", TarBuilder().file("d/.wh.."))
    refused(jail, "d/.wh...", TarBuilder().file("d/.wh..."))
    refused(jail, ".wh.", TarBuilder().file(".wh."))
    assert (jail.root / "d").is_dir()


@case
def case_opaque_through_symlink_up(jail: Jail) -> None:
    apply(jail, TarBuilder().file("lower").symlink("l", "../.."), TarBuilder().file("l/.wh..wh..opq"))
    assert list(jail.root.iterdir()) == []  # the rootfs itself became opaque: inside, by design


@case
def case_opaque_marker_at_root(jail: Jail) -> None:
    apply(jail, TarBuilder().dir("etc").file("etc/old").file("old"),
          TarBuilder().file(".wh..wh..opq").file("new", b"n"))
    assert sorted(p.name for p in jail.root.iterdir()) == ["new"]


# -- hardlinks ----------------------------------------------------------------------------------
@case
def case_hardlink_to_host_passwd(jail: Jail) -> None:
    refused(jail, "pw", TarBuilder().hardlink("pw", "/etc/passwd"))
    assert not (jail.root / "pw").exists()


@case
def case_hardlink_to_rootfs_passwd(jail: Jail) -> None:
    apply(jail, TarBuilder().dir("etc").file("etc/passwd", b"rootfs"), TarBuilder().hardlink("pw", "/etc/passwd"))
    assert os.stat(jail.root / "pw").st_ino == os.stat(jail.root / "etc" / "passwd").st_ino


@case
def case_hardlink_dotdot(jail: Jail) -> None:
    refused(jail, "h", TarBuilder().hardlink("h", "../../sentinel"))


@case
def case_hardlink_pax_linkpath_override(jail: Jail) -> None:
    refused(jail, "h", TarBuilder().hardlink("h", "innocent", pax={"linkpath": "../sentinel"}))


@case
def case_hardlink_target_through_escaping_symlink(jail: Jail) -> None:
    refused(jail, "h", TarBuilder().symlink("l", "../.."), TarBuilder().hardlink("h", "l/sentinel"))


@case
def case_hardlink_name_through_escaping_symlink(jail: Jail) -> None:
    apply(jail, TarBuilder().file("data", b"d").symlink("l", "../../.."), TarBuilder().hardlink("l/sentinel", "data"))
    assert os.stat(inside(jail, "sentinel")).st_ino == os.stat(jail.root / "data").st_ino


@case
def case_hardlink_to_symlink_links_the_link(jail: Jail) -> None:
    apply(jail, TarBuilder().symlink("l", "../sentinel").hardlink("h", "l"))
    assert os.readlink(jail.root / "h") == "../sentinel"
    assert os.stat(jail.host / "sentinel").st_nlink == 1


@case
def case_hardlink_replacing_the_dir_holding_its_target(jail: Jail) -> None:
    refused(jail, "d", TarBuilder().dir("d").file("d/f"), TarBuilder().hardlink("d", "d/f"))


@case
def case_hardlink_to_directory(jail: Jail) -> None:
    refused(jail, "h", TarBuilder().dir("d").hardlink("h", "d"))


# -- resources ----------------------------------------------------------------------------------
@case
def case_device_node_unprivileged(jail: Jail) -> None:
    [report] = apply(jail, TarBuilder().add("dev/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)
                     .add("dev/mem", tarfile.CHRTYPE, devmajor=1, devminor=1), privileged=False)
    assert not (jail.root / "dev" / "sda").exists() and not (jail.root / "dev" / "mem").exists()
    assert any("dev/sda" in line for line in report.skipped) and len(report.skipped) == 2


@case
def case_gzip_bomb_member(jail: Jail) -> None:
    bomb = gzip.compress(TarBuilder().file("zeros", bytes(10 << 20)).bytes())
    assert len(bomb) < 20_000
    with pytest.raises(TooLarge):
        apply(jail, bomb, limits=ApplyLimits(max_bytes=1 << 20))
    assert not (jail.root / "zeros").exists() or (jail.root / "zeros").stat().st_size <= 1 << 20


@case
def case_gzip_bomb_raw_zeros(jail: Jail) -> None:
    with pytest.raises(TooLarge):  # the tar ends at once, but the diff_id drain must stop too
        apply(jail, gzip.compress(bytes(10 << 20)), limits=ApplyLimits(max_bytes=1 << 20))


@case
def case_compression_ratio(jail: Jail) -> None:
    with pytest.raises(TooLarge, match="expands"):
        apply(jail, gzip.compress(TarBuilder().file("z", bytes(8 << 20)).bytes()),
              limits=ApplyLimits(max_ratio=100))


def gnu_sparse(name: str, real_size: int, data: bytes) -> bytes:
    """A GNU sparse member: ``data`` stored at the end of ``real_size`` bytes of holes."""
    info = tarfile.TarInfo(name)
    info.type, info.size = tarfile.GNUTYPE_SPARSE, len(data)
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    header[386:398] = b"%011o\0" % (real_size - len(data))  # sparse map entry 0: offset ...
    header[398:410] = b"%011o\0" % len(data)  # ... and length
    header[483:495] = b"%011o\0" % real_size
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + data.ljust(512, b"\0") + bytes(1024)


@case
def case_sparse_bomb(jail: Jail) -> None:
    bomb = gnu_sparse("holes", 100 << 20, b"tail")
    assert len(bomb) == 2048
    with pytest.raises(TooLarge, match="writes more than"):
        apply(jail, bomb, limits=ApplyLimits(max_bytes=1 << 20))


@case
def case_huge_pax_header(jail: Jail) -> None:
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, 1 << 30
    with pytest.raises(TooLarge, match="extended header"):
        apply(jail, header.tobuf(tarfile.USTAR_FORMAT) + bytes(4096))


@case
def case_too_many_entries(jail: Jail) -> None:
    b = TarBuilder()
    for i in range(11):
        b.file(f"f{i}")
    with pytest.raises(TooLarge, match="10 entries"):
        apply(jail, b, limits=ApplyLimits(max_entries=10))


@case
def case_too_long_path(jail: Jail) -> None:
    with pytest.raises(TooLarge, match="longer than 100"):
        apply(jail, TarBuilder().file("x" * 200), limits=ApplyLimits(max_path_length=100))


@case
def case_too_deep(jail: Jail) -> None:
    with pytest.raises(TooLarge, match="deeper than 8"):
        apply(jail, TarBuilder().file("a/" * 10 + "x"), limits=ApplyLimits(max_depth=8))


@case
def case_too_deep_after_symlinks(jail: Jail) -> None:
    deep = "/".join(["d"] * 7)
    with pytest.raises(TooLarge, match="deeper than 8"):
        apply(jail, TarBuilder().dir(deep).symlink("s", deep).file("s/a/b/c"), limits=ApplyLimits(max_depth=8))


@case
def case_duplicate_paths_last_wins(jail: Jail) -> None:
    apply(jail, TarBuilder().file("f", b"first").file("f", b"second").dir("g").file("g/x").file("g", b"file"))
    assert (jail.root / "f").read_bytes() == b"second" and (jail.root / "g").read_bytes() == b"file"


@case
def case_overlay_xattrs_never_set(jail: Jail) -> None:
    [report] = apply(jail, TarBuilder().dir("d", pax={"SCHILY.xattr.trusted.overlay.redirect": "/etc",
                                                     "SCHILY.xattr.user.overlay.opaque": "y"}))
    assert os.listxattr(jail.root / "d") == [] and len(report.skipped) == 2


@case
def case_absurd_metadata(jail: Jail) -> None:
    apply(jail, TarBuilder().file("t", b"x", pax={"mtime": "1e400", "uid": "9" * 30, "gid": "-5"})
          .dir("d", pax={"mtime": "nan"}).symlink("s", "t", pax={"mtime": "-1e30"}))
    assert inside(jail, "t").read_bytes() == b"x" and inside(jail, "d").is_dir()


# tarfile's ``filter=`` came in 3.11.4 (Debian 12 ships 3.11.2); before it, no filter is the naive one.
NAIVE: dict[str, str] = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}


@pytest.fixture
def real_host_untouched() -> Iterator[None]:
    assert not any(p.exists() or p.is_symlink() for p in REAL_HOST)
    yield
    leaked = [p for p in REAL_HOST if p.exists() or p.is_symlink()]
    for p in leaked:
        p.unlink()
    assert not leaked, f"ESCAPED onto the real host: {leaked}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile(name: str, jail: Jail, tally: dict[str, list[str]], real_host_untouched: None) -> None:
    tally["tried"].append(name)
    before = jail.snapshot()
    CASES[name](jail)
    assert jail.snapshot() == before, "something outside the rootfs changed"
    tally["held"].append(name)


def test_the_jail_notices_an_escape(jail: Jail) -> None:
    """Control: the snapshot really sees a write next to the rootfs (else the suite proves nothing)."""
    before = jail.snapshot()
    with tarfile.open(fileobj=TarBuilder().file("../sentinel", b"pwned").stream()) as tar:
        tar.extractall(jail.root, **NAIVE)  # what a naive extractor does
    assert jail.snapshot() != before
