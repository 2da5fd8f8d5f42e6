"""What both on-disk snapshotters share: records, numbered directories, commit and remove.

Layout under a snapshotter's ``root``::

    metadata.db  metadata.lock      the records (:mod:`.metadata`)
    snapshots/<id>/fs               the snapshot's files (its whole tree, or its layer only)
    snapshots/<id>/…                whatever else the kind needs (overlay: work/, rootfs/)
    tmp/                            scratch space on the same filesystem

A snapshot's directory is created *after* its record and removed *after* its record is gone,
so a directory without a record is garbage from a crash (:meth:`cleanup` removes it), and a
record without a complete directory is only ever an active one, which nobody reuses.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from ..content.atomic import private_dir
from ..errors import InvalidArgument
from .base import Info, Kind, Mounts, Usage
from .metadata import Metadata, Record

STALE_TMP_SECONDS = 3600


def syncfs(path: Path) -> None:
    """Flush the filesystem holding ``path`` to disk (one call, not one fsync per file)."""
    import ctypes  # here: only committing a layer syncs, and ctypes adds ~2 ms to every start

    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"syncfs {path}: {os.strerror(error)}")
    finally:
        os.close(fd)


def remove_tree(path: Path) -> None:
    """``rm -rf`` that also works unprivileged on trees holding read-only directories (an image's
    0555 dirs, overlayfs' 000 work dir): on EACCES, make the directory ours to change and retry."""
    def retry(func: Any, failed: str, exc_info: Any) -> None:
        error = exc_info[1]
        if isinstance(error, FileNotFoundError):
            return
        if not isinstance(error, PermissionError):
            raise error
        if func in (os.unlink, os.rmdir):
            os.chmod(os.path.dirname(failed), 0o700)
            func(failed)
        else:  # could not open or list a directory
            os.chmod(failed, 0o700)
            shutil.rmtree(failed, onerror=retry)

    try:  # gone already is fine: a cleanup in another process may race a remove here
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return
        os.chmod(path, 0o700)
    except FileNotFoundError:
        return
    shutil.rmtree(path, onerror=retry)


if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor


class _Remover:
    """Removes the directories of snapshots whose records are gone, in one worker thread, so
    that ``remove(background=True)`` (a ``run --rm`` container's end) returns once the record
    is: deleting a directory tree is a dozen journalled metadata writes, several ms on a busy
    disk. Such a directory is garbage whoever deletes it (``cleanup`` would take it after a
    crash). At exit Python waits for the worker, as for any ThreadPoolExecutor."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: set[Future[None]] = set()

    def submit(self, path: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor  # only once a container is removed
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="minidock-remover")
            future = self._pool.submit(_remove_quietly, path)
            self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def drain(self) -> None:
        """Wait until every directory handed over so far is gone."""
        if self._pending:
            from concurrent.futures import wait
            wait(list(self._pending))


def _remove_quietly(path: Path) -> None:
    try:
        remove_tree(path)
    except OSError as exc:  # left for cleanup
        if os.environ.get("MINIDOCK_DEBUG"):
            print(f"minidock: cannot remove {path}: {exc}", flush=True)


#: One per process: the directories it hands over are removed in the order they came.
removals = _Remover()


def tree_usage(root: Path) -> Usage:
    """Apparent bytes and inodes under ``root``, each hardlinked inode counted once."""
    seen: set[int] = set()
    size = inodes = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                st = entry.stat(follow_symlinks=False)
                if st.st_ino in seen:
                    continue
                if st.st_nlink > 1:
                    seen.add(st.st_ino)
                inodes += 1
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                    size += st.st_size
    return Usage(size, inodes)


class LocalSnapshotter:
    """Shared machinery; subclasses say how a snapshot's directory is made and seen."""

    name = "local"

    def __init__(self, root: Path, *, durable: bool = True) -> None:
        # Resolved once: these paths end up in overlay mount options and in `docker inspect`.
        self.root = private_dir(Path(root).absolute())
        self.root = self.root.resolve()
        self.meta = Metadata(self.root)
        self.snapshots_dir = self.root / "snapshots"
        self.tmp = self.root / "tmp"
        for path in (self.snapshots_dir, self.tmp):
            path.mkdir(exist_ok=True)
        #: sync a snapshot's files to disk before it is committed, so that a power cut never
        #: leaves a committed layer with empty files (tests and benchmarks may skip it)
        self.durable = durable

    # -- paths ------------------------------------------------------------------------------
    def _dir(self, record: Record | int) -> Path:
        return self.snapshots_dir / str(record if isinstance(record, int) else record.id)

    def _fs(self, record: Record | int) -> Path:
        return self._dir(record) / "fs"

    def _active(self, key: str) -> Record:
        record = self.meta.get(key)
        if record.kind is not Kind.ACTIVE:
            raise InvalidArgument(f"snapshot {key!r} is committed (read-only); prepare an active "
                                  "snapshot on it instead")
        return record

    # -- hooks ------------------------------------------------------------------------------
    def _make(self, record: Record) -> None:
        """Create the directory of the freshly recorded active snapshot ``record``."""
        raise NotImplementedError

    def _sealed(self, record: Record) -> None:
        """Tidy a snapshot's directory once it is committed (nothing writes to it any more)."""

    def _mounts(self, record: Record) -> Mounts:
        """How to see active snapshot ``record`` as a whole rootfs."""
        raise NotImplementedError

    # -- the Snapshotter protocol ---------------------------------------------------------
    def stat(self, key: str) -> Info:
        return self.meta.get(key).info()

    def walk(self) -> Iterator[Info]:
        for record in self.meta.records():
            yield record.info()

    def prepare(self, key: str, parent: str | None, labels: dict[str, str] | None = None) -> Mounts:
        record = self.meta.create(key, parent, labels)
        try:
            self._dir(record).mkdir(mode=0o700)
            self._make(record)
        except BaseException:
            self.meta.delete(key)
            remove_tree(self._dir(record))
            raise
        return self._mounts(record)

    def mounts(self, key: str) -> Mounts:
        return self._mounts(self._active(key))

    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> Info:
        record = self._active(key)
        if self.durable:  # before the flip: once committed, the files must be on disk
            syncfs(self._fs(record))
        committed = self.meta.commit(name, key, labels)
        self._sealed(committed)
        # The wrapper dir goes read-only: nothing may be added beside fs/ of a committed layer.
        os.chmod(self._dir(committed), 0o555)
        return committed.info()

    def remove(self, key: str, *, background: bool = False) -> None:
        record = self.meta.delete(key)  # Conflict while children exist; the directory stays then
        if background:  # an orphan from now on, whoever deletes it
            removals.submit(self._dir(record))
        else:
            remove_tree(self._dir(record))

    def usage(self, key: str) -> Usage:
        return tree_usage(self._fs(self.meta.get(key)))

    def cleanup(self) -> list[Path]:
        # Listed under the writers' lock (a record is always written before its directory, so
        # no snapshot being prepared right now can look orphaned), removed after it: ids are
        # never reused, so an orphan stays an orphan and nobody waits for the deleting.
        removals.drain()  # what this process removes already is not for cleanup to report
        with self.meta.exclusive():
            owned = self.meta.ids()
            orphans = [entry for entry in sorted(self.snapshots_dir.iterdir())
                       if not (entry.name.isdigit() and int(entry.name) in owned)]
        # Another process may be using its scratch dir right now: only take old ones.
        orphans += [entry for entry in sorted(self.tmp.iterdir())
                    if time.time() - entry.lstat().st_mtime > STALE_TMP_SECONDS]
        for entry in orphans:
            remove_tree(entry)
        return orphans

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"
