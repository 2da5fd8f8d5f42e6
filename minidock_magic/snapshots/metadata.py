"""Snapshot records in one small sqlite database: key, kind, parent, created, labels.

A key is any string — a ChainID ``sha256:…``, ``container-<id>``, or something hostile like
``../../etc`` — so it is never part of a path: each record gets a numeric id, and its directory
is ``snapshots/<id>/``. Ids come from ``AUTOINCREMENT``, so an id is never handed out twice,
not even after a delete: a directory left behind by a crash can never be mistaken for a new
snapshot's.

Writers hold an exclusive file lock (:func:`~minidock_magic.content.atomic.locked`) *and* an
sqlite transaction: the lock orders the directory work around each change between threads and
processes, the transaction makes each change all-or-nothing. Committing is one ``UPDATE``
(active → committed, key → name), so a crash leaves either the active snapshot or the
committed one, never a committed one half-filled.

The database is in WAL mode with ``synchronous=NORMAL``: a change is appended to the log and
synced at checkpoints, not at every commit. Still atomic and consistent after a crash, but a
power cut may undo the last changes — which only ever leaves a directory without a record
(garbage for ``cleanup``) or an active snapshot that was being committed. Deleting is the
exception, synced at once: the directory goes right after, and a record must never come back
without its files. On a network file system (an NFS home on some JupyterHubs) sqlite's WAL does
not work, so there the database keeps its rollback journal and syncs every commit.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..content.atomic import locked
from ..errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from .base import Info, Kind

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    key     TEXT NOT NULL UNIQUE,
    kind    TEXT NOT NULL CHECK (kind IN ('active', 'committed')),
    parent  INTEGER REFERENCES snapshots(id),
    created REAL NOT NULL,
    labels  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS snapshots_parent ON snapshots(parent);
"""


@dataclass(frozen=True, slots=True)
class Record:
    """One row of the snapshot database."""

    id: int
    key: str
    kind: Kind
    parent_id: int | None
    parent: str | None
    created: float
    labels: dict[str, str]

    def info(self) -> Info:
        return Info(self.key, self.kind, self.parent, self.created, dict(self.labels))


def check_key(key: object, what: str = "snapshot key") -> str:
    if not isinstance(key, str) or not key or "\0" in key:
        raise InvalidArgument(f"{what} must be a non-empty string without NUL bytes, not {key!r}")
    return key


_SELECT = ("SELECT s.id, s.key, s.kind, s.parent, p.key, s.created, s.labels "
           "FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent")


def _record(row: tuple[object, ...]) -> Record:
    id_, key, kind, parent_id, parent, created, labels = row
    return Record(int(id_), str(key), Kind(kind), None if parent_id is None else int(parent_id),  # type: ignore[call-overload]
                  None if parent is None else str(parent), float(created),  # type: ignore[arg-type]
                  json.loads(str(labels)))


#: File systems where sqlite's WAL (shared memory beside the database) is unsafe.
NETWORK_FILE_SYSTEMS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "fuse.sshfs",
                                  "ceph", "glusterfs", "fuse.glusterfs", "lustre", "afs"})


def file_system_type(path: Path, mountinfo: str | None = None) -> str:
    """The type of the file system ``path`` lives on, from the longest mount point above it."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return ""
    target, best, found = str(path.resolve()), -1, ""
    for line in mountinfo.splitlines():
        fields, _, rest = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not rest:
            continue
        point = parts[4].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, found = len(point), rest.split()[0]
    return found


def on_network_file_system(path: Path) -> bool:
    return file_system_type(path) in NETWORK_FILE_SYSTEMS


class Metadata:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "metadata.db"
        self.lock = root / "metadata.lock"
        self._local = threading.local()
        root.mkdir(parents=True, exist_ok=True)
        with locked(self.lock):
            self._keeps_log_open = self._connect()
            mode = "DELETE" if on_network_file_system(root) else "WAL"
            self._keeps_log_open.execute(f"PRAGMA journal_mode = {mode}")  # kept in the file
        with self._write() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit
                db.execute(statement)
        # The log lives only while a connection has it open: the last one to close checkpoints
        # it into the database (fsyncs) and deletes it. This connection opens it (by reading)
        # and stays open, idle, as long as this object lives, so that a thread's first
        # connection costs no more than its own work.
        self._keeps_log_open.execute("SELECT 1 FROM snapshots LIMIT 1").fetchall()

    def _connect(self, synchronous: str = "NORMAL") -> sqlite3.Connection:
        db = sqlite3.connect(self.db, timeout=60, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute(f"PRAGMA synchronous = {self._synchronous(db, synchronous)}")
        return db

    @staticmethod
    def _synchronous(db: sqlite3.Connection, wanted: str) -> str:
        # NORMAL is crash-safe only with WAL; with a rollback journal a commit must be synced.
        return wanted if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal" else "FULL"

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened at its first call and kept while this object
        lives: opening one (the file, the log's shared memory, three pragmas) costs more than
        most calls' own work, and a container start makes several. sqlite connections must
        cross neither threads nor a fork, hence one per thread, opened again in a child."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.db, local.pid = self._connect(), os.getpid()
        return local.db  # type: ignore[no-any-return]

    @contextmanager
    def _write(self, synchronous: str = "NORMAL") -> Iterator[sqlite3.Connection]:
        with locked(self.lock):
            db = self._connection()
            special = synchronous != "NORMAL"
            if special:
                db.execute(f"PRAGMA synchronous = {self._synchronous(db, synchronous)}")
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            finally:
                if special:
                    db.execute(f"PRAGMA synchronous = {self._synchronous(db, 'NORMAL')}")

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writers' lock (no change can happen meanwhile) — for cleaning up."""
        with locked(self.lock):
            yield

    def _get(self, db: sqlite3.Connection, key: str) -> Record:
        row = db.execute(_SELECT + " WHERE s.key = ?", (check_key(key),)).fetchone()
        if row is None:
            raise NotFound(f"snapshot {key!r} does not exist")
        return _record(row)

    def get(self, key: str) -> Record:
        return self._get(self._connection(), key)

    def records(self) -> list[Record]:
        """Every record, oldest first — which puts parents before their children."""
        return [_record(r) for r in self._connection().execute(_SELECT + " ORDER BY s.id")]

    def chain(self, key: str) -> list[Record]:
        """``key`` and its ancestors, top first."""
        db = self._connection()
        chain = [self._get(db, key)]
        while chain[-1].parent is not None:
            chain.append(self._get(db, chain[-1].parent))  # type: ignore[arg-type]
        return chain

    def create(self, key: str, parent: str | None, labels: dict[str, str] | None) -> Record:
        check_key(key)
        with self._write() as db:
            parent_id = None
            if parent is not None:
                found = self._get(db, parent)
                if found.kind is not Kind.COMMITTED:
                    raise InvalidArgument(f"parent {parent!r} is active: only committed snapshots "
                                          "can be built upon")
                parent_id = found.id
            if db.execute("SELECT 1 FROM snapshots WHERE key = ?", (key,)).fetchone():
                raise AlreadyExists(f"snapshot {key!r} already exists")
            db.execute("INSERT INTO snapshots (key, kind, parent, created, labels) "
                       "VALUES (?, 'active', ?, ?, ?)",
                       (key, parent_id, time.time(), json.dumps(dict(labels or {}), sort_keys=True)))
            return self._get(db, key)

    def commit(self, name: str, key: str, labels: dict[str, str] | None) -> Record:
        """Active ``key`` becomes committed ``name``, with ``labels`` (None: the active's)."""
        check_key(name, "snapshot name")
        with self._write() as db:
            record = self._get(db, key)
            if record.kind is not Kind.ACTIVE:
                raise InvalidArgument(f"snapshot {key!r} is already committed")
            if db.execute("SELECT 1 FROM snapshots WHERE key = ?", (name,)).fetchone():
                raise AlreadyExists(f"snapshot {name!r} already exists")
            kept = record.labels if labels is None else labels
            db.execute("UPDATE snapshots SET key = ?, kind = 'committed', labels = ? WHERE id = ?",
                       (name, json.dumps(dict(kept), sort_keys=True), record.id))
            return self._get(db, name)

    def delete(self, key: str) -> Record:
        with self._write(synchronous="FULL") as db:  # synced before the directory goes
            record = self._get(db, key)
            children = [r[0] for r in db.execute(
                "SELECT key FROM snapshots WHERE parent = ? ORDER BY id LIMIT 3", (record.id,))]
            if children:
                raise Conflict(f"snapshot {key!r} is the parent of {', '.join(map(repr, children))}"
                               f"{' …' if len(children) == 3 else ''}: remove those first")
            db.execute("DELETE FROM snapshots WHERE id = ?", (record.id,))
            return record

    def ids(self) -> set[int]:
        return {int(r[0]) for r in self._connection().execute("SELECT id FROM snapshots")}
