"""The snapshot records' database: WAL, synced only where a record must not come back."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from minidock_magic.snapshots.metadata import Metadata


def test_wal_and_its_log_outlive_each_call(tmp_path: Path) -> None:
    meta = Metadata(tmp_path)  # a new database
    meta.create("layer", None, None)
    meta.commit("sha256:layer", "layer", None)
    # Each call opens and closes its own connection, but the log is not checkpointed into the
    # database and deleted at every close (fsyncs each time) while this Metadata lives.
    assert (tmp_path / "metadata.db-wal").exists()
    with closing(sqlite3.connect(meta.db)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert [r.key for r in Metadata(tmp_path).records()] == ["sha256:layer"]  # another handle sees it


def test_deleting_is_synced_at_once(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    meta = Metadata(tmp_path)
    meta.create("container", None, None)
    levels: list[str] = []
    real = Metadata._connect

    def connect(self: Metadata, synchronous: str = "NORMAL") -> sqlite3.Connection:
        levels.append(synchronous)
        return real(self, synchronous)

    monkeypatch.setattr(Metadata, "_connect", connect)
    meta.create("other", None, None)
    meta.delete("container")
    assert levels == ["NORMAL", "FULL"]
