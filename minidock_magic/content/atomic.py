"""Crash-safe file writes: temp file in the same directory tree, fsync, rename, fsync the directory.

A reader therefore sees the old bytes or the new bytes, never half of either.

A store is private to its owner: on a shared machine (a classroom's JupyterHub) one student's
container configs (with their ``API_TOKEN``), logs and blobs are nobody else's business. So the
engine's directories are made 0700 and its files 0600 *when created* (``mkdir``/``open`` modes,
``mkstemp``), never opened up first and closed later.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Modes of everything the engine keeps for its user (see the module's docstring).
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a directory, made 0700 if it is new (missing parents too)."""
    if path.is_dir():  # the common case: one stat, not one per ancestor
        return path
    for missing in reversed([p for p in (path, *path.parents) if not p.exists()]):
        try:
            missing.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            pass  # made meanwhile by another process of ours
    return path


def atomic_write_bytes(path: Path, data: bytes, *, mode: int = PRIVATE_FILE, durable: bool = True) -> None:
    """``durable=False`` skips both fsyncs, for state that is worked out again when it is lost:
    readers still see the old bytes or the new, but a power cut may undo the write or, on file
    systems that do not order a rename after its data, leave the file empty."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if mode != PRIVATE_FILE:  # mkstemp made it 0600 already
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes sharing one home (parallel pulls, tags)."""
    private_dir(lock_path.parent)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
