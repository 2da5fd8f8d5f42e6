"""The pure layer analysis: A/C/D marks, merged filesystems, wasted space — on hand-made tars."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from minidock_magic.display.layers import (
    Change,
    FileInfo,
    ListingCache,
    Tree,
    analyse,
    apply_listing,
    efficiency,
    file,
    image_report,
    layer_commands,
    listing,
)
from minidock_magic.display.preview import describe, hexdump, render, text_of
from minidock_magic.display.tars import DIR, FILE, HARDLINK, SYMLINK, Entry, read_head, read_listing
from tests.diff.helpers import TarBuilder


def marks(changes: list[Change] | tuple[Change, ...]) -> list[str]:
    return [str(c) for c in changes]


def test_added_then_changed_then_deleted():
    report = analyse([listing(file("/a", 10)), listing(file("/a", 20)), listing(deleted=["/a"])])
    assert [marks(layer.changes) for layer in report.layers] == [["A /a"], ["C /a"], ["D /a"]]
    deleted = report.layers[2].changes[0]
    assert (deleted.size, deleted.layer) == (20, 1)  # the version removed, and where it lives
    assert [layer.removed_bytes for layer in report.layers] == [0, 10, 20]
    assert (report.total_bytes, report.wasted_bytes) == (30, 30)
    assert report.efficiency == 0.0
    assert report.merged_after(1) == {"/a": FileInfo(20, 1, FILE)}
    assert report.merged_after(2) == {}


def test_whiteout_of_a_directory_deletes_its_subtree():
    base = listing(Entry("/d", DIR), file("/d/x", 5), Entry("/d/sub", DIR), file("/d/sub/y", 7),
                   file("/keep", 1))
    report = analyse([base, listing(deleted=["/d"])])
    assert marks(report.layers[1].changes) == ["D /d", "D /d/sub", "D /d/sub/y", "D /d/x"]
    assert report.layers[1].removed_bytes == 12
    assert sorted(report.merged_after(1)) == ["/keep"]


def test_opaque_directory_hides_lower_contents_but_keeps_its_own():
    base = listing(Entry("/d", DIR), file("/d/old", 100), file("/d/both", 3), file("/other", 1))
    top = listing(Entry("/d", DIR), file("/d/new", 4), file("/d/both", 5), opaque=["/d"])
    report = analyse([base, top])
    assert marks(report.layers[1].changes) == ["C /d", "C /d/both", "A /d/new", "D /d/old"]
    assert report.layers[1].removed_bytes == 103
    merged = report.merged_after(1)
    assert sorted(merged) == ["/d", "/d/both", "/d/new", "/other"]
    assert merged["/d/both"] == FileInfo(5, 1, FILE) and merged["/other"].layer == 0


def test_a_file_replacing_a_directory_removes_what_was_in_it():
    report = analyse([listing(Entry("/x", DIR), file("/x/a", 9)), listing(file("/x", 2))])
    assert marks(report.layers[1].changes) == ["C /x", "D /x/a"]
    assert report.wasted_bytes == 9


def test_directories_repeated_as_parents_are_changed_not_wasted():
    report = analyse([listing(Entry("/etc", DIR), file("/etc/a", 1)),
                      listing(Entry("/etc", DIR), file("/etc/b", 1))])
    assert marks(report.layers[1].changes) == ["C /etc", "A /etc/b"]
    assert report.wasted_bytes == 0 and sorted(report.merged_after(1)) == ["/etc", "/etc/a", "/etc/b"]


def test_whiteouts_hide_lower_layers_only():
    # Re-adding a deleted path in the same layer is a change, and the new version stays.
    report = analyse([listing(file("/f", 4)), listing(file("/f", 6), deleted=["/f"])])
    assert marks(report.layers[1].changes) == ["C /f"]
    assert report.merged_after(1)["/f"] == FileInfo(6, 1, FILE)


def test_implied_parents_and_deleting_what_is_not_there():
    tree = Tree()
    changes, removed = apply_listing(tree, listing(file("/a/b/c", 1)), 0)
    assert marks(changes) == ["A /a/b/c"] and removed == {}
    changes, removed = apply_listing(tree, listing(deleted=["/a", "/nothing"]), 1)
    assert marks(changes) == ["D /a/b/c"] and tree.entries == {}


def test_wasted_files_and_efficiency():
    report = analyse([listing(file("/big", 1000), file("/keep", 1000)), listing(file("/big", 10)),
                      listing(deleted=["/big"])])
    assert report.wasted_files() == [("/big", 2, 1010)]
    assert report.wasted_bytes == 1010 and report.efficiency == pytest.approx(1 - 1010 / 2010)
    assert [layer.wasted_up_to for layer in report.layers] == [0, 1000, 1010]
    assert efficiency(0, 0) == 1.0


def test_read_listing_of_a_real_tar_with_whiteouts_and_opaque_markers():
    data = (TarBuilder().dir("./etc").file("./etc/motd", b"hi\n").symlink("etc/link", "motd")
            .hardlink("etc/hard", "etc/motd").file("etc/.wh.gone").file("var/cache/.wh..wh..opq")
            .file(".wh..wh..opq").file("etc/.wh..wh.plnk").file("a/../escape").bytes())
    found = read_listing(io.BytesIO(gzip.compress(data)))
    assert found.entries == (Entry("/etc", DIR), Entry("/etc/motd", FILE, 3),
                             Entry("/etc/link", SYMLINK, 0, "motd"), Entry("/etc/hard", HARDLINK, 0, "etc/motd"))
    assert found.deleted == ("/etc/gone",)
    assert found.opaque == ("/var/cache", "/")
    assert read_listing(io.BytesIO(data)) == found  # plain tars too


def test_listing_cache_reads_each_digest_once(wasteful, monkeypatch):
    image = wasteful.image("wasteful:1")
    reads = []
    real_open = wasteful.content.open
    monkeypatch.setattr(wasteful.content, "open", lambda d: reads.append(d) or real_open(d))
    cache = ListingCache()
    first = image_report(wasteful.content, image, cache)
    assert image_report(wasteful.content, image, cache) == first
    assert reads == [layer.digest for layer in image.layers]  # the second report read nothing
    small = ListingCache(capacity=2)
    image_report(wasteful.content, image, small)
    assert list(small._listings) == [layer.digest for layer in image.layers[1:]]  # bounded, LRU
    assert first.wasted_bytes == 10_000
    assert layer_commands(image) == ["ADD rootfs.tar /", "RUN make-big > /big", "RUN rm /big"]


def test_read_head_text_binary_links_and_missing():
    data = (TarBuilder().file("etc/motd", b"hello\n").file("bin/tool", bytes(range(256)) * 20)
            .hardlink("etc/again", "etc/motd").hardlink("etc/lower", "etc/elsewhere")
            .symlink("etc/link", "motd").dir("etc/d").bytes())
    blob = io.BytesIO(gzip.compress(data))
    motd = read_head(blob, "/etc/motd")
    assert motd is not None and describe(motd) == "/etc/motd: 6B\nhello\n"
    tool = read_head(io.BytesIO(data), "/bin/tool")
    assert tool is not None and (tool.size, len(tool.data)) == (5120, 4096)
    shown = describe(tool)
    assert shown.startswith("/bin/tool: 5.12kB, first 4096 bytes shown\n00000000  00 01 02")
    assert shown.endswith("\n…")
    again = read_head(io.BytesIO(data), "/etc/again")
    assert again is not None and (again.kind, again.data) == (FILE, b"hello\n")
    lower = read_head(io.BytesIO(data), "/etc/lower")
    assert lower is not None and "hard link to /etc/elsewhere" in describe(lower)
    assert describe(read_head(io.BytesIO(data), "/etc/link")) == "/etc/link: symbolic link -> motd"
    assert describe(read_head(io.BytesIO(data), "/etc/d")) == "/etc/d: directory"
    assert read_head(io.BytesIO(data), "/nope") is None


def test_text_or_hex():
    assert text_of("日本".encode()[:4]) == "日"  # a character cut by the limit is not binary
    assert text_of(b"\x00ab") is None and text_of(b"\xc3\x28") is None
    assert render(b"abc", 10) == "abc\n…"
    assert hexdump(b"AB\n").startswith("00000000  41 42 0a") and hexdump(b"AB\n").endswith("|AB.|")


def test_tarfile_errors_are_not_swallowed_silently():
    with pytest.raises(tarfile.TarError):
        read_listing(io.BytesIO(gzip.compress(b"not a tar" * 100)))
