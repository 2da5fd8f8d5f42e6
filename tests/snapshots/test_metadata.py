"""The snapshot records' database: WAL, synced only where a record must not come back."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from minidock_magic.snapshots import metadata
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


def test_deleting_is_synced_at_once(tmp_path: Path) -> None:
    meta = Metadata(tmp_path)
    meta.create("container", None, None)
    db = meta._connection()
    statements: list[str] = []
    db.set_trace_callback(statements.append)
    levels = lambda: [s.split("=")[1].strip() for s in statements if "synchronous =" in s]  # noqa: E731
    meta.create("other", None, None)
    assert levels() == []  # NORMAL, as the connection was opened
    meta.delete("container")
    assert levels() == ["FULL", "NORMAL"]  # the delete's COMMIT synced, then back
    assert statements.index("PRAGMA synchronous = FULL") < statements.index("COMMIT",
        statements.index("PRAGMA synchronous = FULL"))
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_each_thread_keeps_one_connection_and_a_child_opens_its_own(
        tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os
    import threading
    meta = Metadata(tmp_path)
    mine = meta._connection()
    meta.create("a", None, None)
    assert meta._connection() is mine and meta.get("a").key == "a"
    other: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: other.append(meta._connection()))
    thread.start()
    thread.join()
    assert other[0] is not mine
    parent = os.getpid()
    monkeypatch.setattr(os, "getpid", lambda: parent + 1)  # as a forked child sees it
    assert meta._connection() is not mine and meta.get("a").key == "a"


MOUNTINFO = """\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:40 / /home rw,relatime shared:9 - nfs4 server:/export/home rw,vers=4.2
31 30 0:41 / /home/ann/scratch\\040dir rw shared:10 - tmpfs tmpfs rw
"""


def test_file_system_type_is_the_longest_mount_above_the_path() -> None:
    assert metadata.file_system_type(Path("/home/ann/.local/minidock"), MOUNTINFO) == "nfs4"
    assert metadata.file_system_type(Path("/home/ann/scratch dir/x"), MOUNTINFO) == "tmpfs"
    assert metadata.file_system_type(Path("/homework"), MOUNTINFO) == "ext4"  # not under /home
    assert metadata.file_system_type(Path("/srv"), MOUNTINFO) == "ext4"


def test_on_a_network_file_system_the_journal_stays_and_every_commit_syncs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata, "on_network_file_system", lambda path: True)
    store = metadata.Metadata(tmp_path)
    store.create("k", None, None)
    with closing(store._connect()) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert not (tmp_path / "metadata.db-wal").exists()
    assert store.get("k").key == "k"
