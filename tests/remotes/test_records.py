"""``remotes.json`` is a hint written without fsyncs: what a power cut can leave of it (nothing,
an empty file, a torn one) must read as no record and be written over by the next pull or push."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock_magic.oci.digest import Digest
from minidock_magic.remotes.records import BlobSources

BLOB = Digest.of(b"layer")


@pytest.mark.parametrize("left", [None, b"", b'{"sha256:', b"[]"])
def test_a_lost_or_torn_record_reads_as_none_and_is_written_over(tmp_path: Path, left: bytes | None) -> None:
    sources = BlobSources(tmp_path / "remotes.json", tmp_path / "locks" / "remotes.lock")
    if left is not None:
        sources.path.write_bytes(left)
    assert sources.places(BLOB) == []
    sources.add([BLOB], "127.0.0.1:5000", "me/base")
    assert sources.mount_sources(BLOB, "127.0.0.1:5000", "me/app") == ["me/base"]


def test_the_record_is_written_without_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    monkeypatch.setattr("os.fsync", synced.append)
    BlobSources(tmp_path / "remotes.json", tmp_path / "remotes.lock").add([BLOB], "h", "r")
    assert synced == []
