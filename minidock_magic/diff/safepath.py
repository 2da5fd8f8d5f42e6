"""Chroot-style path resolution: follow a path *as the container will*, never out of its rootfs.

A layer is hostile until proven otherwise. Its symlinks are meant to be read inside the
container, where ``/`` is the rootfs, so ``lib -> /usr/lib`` is fine; but the same link followed
by the host kernel would point at the host's ``/usr/lib``. So we never hand the kernel a path
with a symlink in it: :func:`resolve_parts` walks one component at a time with ``lstat`` /
``readlink``, treating ``root`` as ``/`` (``..`` at the top stays there, absolute targets
restart at the top), and returns the components of a path made only of real directories.

The writes themselves then go through :func:`open_dir` — ``openat`` of one component at a time
with ``O_NOFOLLOW | O_DIRECTORY`` — and ``*at`` calls on the last name, so even if something
swapped a directory for a symlink after we resolved it, the kernel refuses instead of following.
(Linux's ``openat2(RESOLVE_IN_ROOT)`` does both in one syscall; Python has no binding for it.)

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / 'usr/lib').mkdir(parents=True); (root / 'lib').symlink_to('/usr/lib')
>>> resolve_parts(root, '/lib/../../../etc/passwd', follow_final=True)
('etc', 'passwd')
>>> resolve_parts(root, 'lib/x.so', follow_final=True)
('usr', 'lib', 'x.so')
>>> resolve_parts(root, 'lib', follow_final=False)
('lib',)
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from pathlib import Path

from ..errors import UnsafeLayer

#: Same budget as the Linux kernel's MAXSYMLINKS: beyond it, a chain is treated as a loop.
MAX_SYMLINK_HOPS = 40

#: How every directory under the root is opened: never through a symlink.
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def split_path(path: str) -> list[str]:
    """Components of ``path`` without empty and ``.`` ones (``..`` is kept for the caller)."""
    return [part for part in path.split("/") if part not in ("", ".")]


def resolve_parts(root: Path | str, path: str, *, follow_final: bool) -> tuple[str, ...]:
    """Components, relative to ``root``, of where ``path`` lands when ``root`` is ``/``.

    Every returned component that exists is a real directory, except perhaps the last (a
    symlink when ``follow_final`` is false). Components past the first missing one are kept
    as written (they cannot be symlinks: they do not exist yet). Raises :class:`UnsafeLayer`
    for symlink loops.
    """
    if "\0" in path:
        raise UnsafeLayer(f"path {path!r} contains a NUL byte")
    root_str = os.fspath(root)
    pending = deque(split_path(path))
    current: list[str] = []
    hops = 0
    while pending:
        name = pending.popleft()
        if name == "..":
            if current:  # at the top, '..' stays at the top, as in a chroot
                current.pop()
            continue
        candidate = os.path.join(root_str, *current, name)
        try:
            mode = os.lstat(candidate).st_mode
        except (FileNotFoundError, NotADirectoryError):
            current.append(name)  # does not exist (yet): nothing to follow
            continue
        if stat.S_ISLNK(mode) and (pending or follow_final):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise UnsafeLayer(f"too many levels of symbolic links resolving {path!r}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                current.clear()  # absolute target: restart at the rootfs top, not the host's
            pending.extendleft(reversed(split_path(target)))
            continue
        current.append(name)
    return tuple(current)


def resolve_in_root(root: Path, path: str, *, follow_final: bool) -> Path:
    """:func:`resolve_parts` as a host path under ``root`` (which is trusted as given).

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / 'up').symlink_to('../../..')
    >>> resolve_in_root(root, 'up/etc/shadow', follow_final=True) == root / 'etc/shadow'
    True
    """
    return Path(root).joinpath(*resolve_parts(root, path, follow_final=follow_final))


def open_root(root: Path | str) -> int:
    """A directory fd for ``root`` itself (the one path we follow as given: it is ours)."""
    return os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def open_dir(root_fd: int, parts: tuple[str, ...] | list[str], *, create: bool = False) -> int:
    """An fd for the directory ``parts`` under ``root_fd``, refusing to cross any symlink.

    With ``create``, missing directories are made (mode 0755, like ``mkdir -p`` in a layer's
    implicit parents). A component that is a symlink or not a directory raises
    :class:`UnsafeLayer`; a missing one without ``create`` raises ``FileNotFoundError``.
    The caller closes the returned fd.
    """
    fd = os.dup(root_fd)
    try:
        for depth, name in enumerate(parts, 1):
            if name in ("", ".", "..") or "/" in name:
                raise UnsafeLayer(f"invalid path component {name!r}")
            try:
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(name, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass  # raced with ourselves or a sibling: open whatever is there now
                child = os.open(name, DIR_FLAGS, dir_fd=fd)
                os.chmod(child, 0o755)  # undo the process umask: implicit parents are 0755
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise UnsafeLayer(f"{'/'.join(parts[:depth])!r} is not a directory (a symlink "
                                      "or file where a directory must be)") from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def remove_at(dir_fd: int, name: str, *, keep_dir: bool = False) -> None:
    """Remove ``name`` in ``dir_fd`` (a whole tree if a directory) without following it.

    Absent is fine. Trees are walked by fds, never through a symlink, and read-only
    directories we own are opened up first (``rm -rf`` of a Go module cache, unprivileged).
    """
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
    elif not keep_dir:
        _remove_tree(dir_fd, name)


def make_owner_writable(fd: int) -> int | None:
    """Give the owner rwx on directory ``fd`` if it lacks them; the old mode, or None if unchanged.

    Root never needs this; an unprivileged extractor does, to write into a 0555 directory
    that a lower layer made (the caller puts the old mode back at the end).
    """
    mode = stat.S_IMODE(os.fstat(fd).st_mode)
    if os.geteuid() == 0 or mode & 0o700 == 0o700:
        return None
    os.chmod(fd, mode | 0o700)
    return mode


def _remove_tree(parent_fd: int, name: str) -> None:
    try:
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    except PermissionError:  # a 0o000 directory of ours: chmod it through an O_PATH handle
        handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=parent_fd)
        try:
            os.chmod(f"/proc/self/fd/{handle}", 0o700)
        finally:
            os.close(handle)
        fd = os.open(name, DIR_FLAGS, dir_fd=parent_fd)
    try:
        make_owner_writable(fd)
        with os.scandir(fd) as it:
            children = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        for child, is_dir in children:
            if is_dir:
                _remove_tree(fd, child)
            else:
                os.unlink(child, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent_fd)


def remove_untouched(dir_fd: int, directory: tuple[str, ...], keep: set[tuple[str, ...]]) -> None:
    """Empty ``directory`` (open as ``dir_fd``) of every entry whose path is not in ``keep``.

    ``keep`` holds paths *and their ancestors*, so a kept directory is descended into and
    only its kept entries survive: an opaque directory's lower contents go, this layer's stay.
    """
    with os.scandir(dir_fd) as it:
        children = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
    for name, is_dir in children:
        if directory + (name,) not in keep:
            remove_at(dir_fd, name)
        elif is_dir:
            child = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
            try:
                remove_untouched(child, directory + (name,), keep)
            finally:
                os.close(child)
