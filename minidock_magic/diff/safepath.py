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

A *running* container changes its tree while the engine reads or writes it (``cp``, ``export``,
``commit``, ``diff``), so there a path string is never enough, whatever it was checked against.
:func:`open_in_root` resolves a container path to an fd in one step — Linux's ``openat2`` with
``RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`` (through ``syscall``: Python has no binding), or,
on kernels before 5.6, the same walk done here one ``O_PATH | O_NOFOLLOW`` component at a time
from held directory fds, ``..`` popping our own stack — and :class:`Dir` walks trees by fds
(``scandir``/``*at`` calls), so no lookup the kernel does ever crosses a symlink the container
planted, however fast it swaps them.

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
from typing import Self

from ..errors import UnsafeLayer

#: Same budget as the Linux kernel's MAXSYMLINKS: beyond it, a chain is treated as a loop.
MAX_SYMLINK_HOPS = 40

#: How every directory under the root is opened: never through a symlink.
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def split_path(path: str) -> list[str]:
    """Components of ``path`` without empty and ``.`` ones (``..`` is kept for the caller)."""
    return [part for part in path.split("/") if part not in ("", ".")]


def member_name(name: str) -> str:
    """A member name in the form layers and archives use: no leading ``/`` or ``./``, no empty or
    ``.`` components (``..`` is kept: :func:`member_parts` refuses it, :func:`member_path` skips it).

    >>> member_name('./etc//passwd'), member_name('/'), member_name('./.profile'), member_name('a/./b/')
    ('etc/passwd', '', '.profile', 'a/b')
    """
    return "/".join(split_path(name))


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


# -- race-free access to a tree a running container is changing --------------------------------

#: openat2(2)'s ``resolve`` flags (linux/openat2.h).
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_IN_ROOT = 0x10
#: New syscalls share one number on every architecture; openat2 arrived in Linux 5.6.
_SYS_OPENAT2 = 437
#: openat2 answers EAGAIN when a rename raced its ``..`` handling; it asks to be retried.
_EAGAIN_RETRIES = 128

_openat2_state: dict[str, object] = {}


def _libc() -> object:
    if "libc" not in _openat2_state:
        import ctypes  # here, not at import: ctypes costs every CLI start ~2 ms

        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        _openat2_state["libc"] = libc
    return _openat2_state["libc"]


def openat2(dir_fd: int, path: str, flags: int, mode: int = 0, resolve: int = 0) -> int:
    """Linux's ``openat2(dir_fd, path, {flags, mode, resolve})``; raises ``OSError``."""
    import ctypes
    import struct

    how = ctypes.create_string_buffer(struct.pack("=QQQ", flags, mode, resolve), 24)
    libc = _libc()
    fd = libc.syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(dir_fd),  # type: ignore[attr-defined]
                      ctypes.c_char_p(os.fsencode(path)), how, ctypes.c_size_t(24))
    if fd < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error), path)
    return int(fd)


def have_openat2() -> bool:
    """Whether this kernel has openat2 with RESOLVE_IN_ROOT (asked once per process)."""
    if "works" not in _openat2_state:
        try:
            os.close(openat2(-100, "/", os.O_PATH | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT))  # AT_FDCWD
            _openat2_state["works"] = True
        except OSError as error:  # ENOSYS (old kernel), EPERM (a seccomp filter), EINVAL
            _openat2_state["works"] = error.errno not in (errno.ENOSYS, errno.EPERM, errno.EINVAL)
    return bool(_openat2_state["works"])


def open_in_root(root_fd: int, path: str, flags: int = os.O_PATH, *, follow_final: bool = True) -> int:
    """An fd for ``path`` resolved inside the tree ``root_fd`` as if it were ``/`` — symlinks
    (absolute ones too) and ``..`` never leave it, whatever changes meanwhile.

    ``flags`` are ``open`` flags without ``O_CREAT`` (create with ``*at`` calls on the parent's
    fd). Raises ``OSError`` (``FileNotFoundError``, ``NotADirectoryError``, ``ELOOP``) like
    ``open``, and :class:`UnsafeLayer` for a NUL byte in ``path``.
    """
    if "\0" in path:
        raise UnsafeLayer(f"path {path!r} contains a NUL byte")
    if flags & os.O_CREAT:
        raise ValueError("open_in_root never creates: open the parent, then create *at it")
    flags |= os.O_CLOEXEC | (0 if follow_final else os.O_NOFOLLOW)
    if have_openat2():
        for _ in range(_EAGAIN_RETRIES):
            try:
                return openat2(root_fd, path or ".", flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
            except BlockingIOError:
                continue
        raise OSError(errno.EAGAIN, f"{path} keeps moving inside the container; try again")
    found = _walk_in_root(root_fd, path, follow_final=follow_final)
    if flags & os.O_PATH:
        return found
    try:
        return reopen(found, flags & ~os.O_NOFOLLOW)
    finally:
        os.close(found)


def reopen(fd: int, flags: int) -> int:
    """A new open file description for the object ``fd`` (an ``O_PATH`` handle) names."""
    try:
        return os.open(f"/proc/self/fd/{fd}", flags | os.O_CLOEXEC)
    except FileNotFoundError:
        if not os.path.isdir("/proc/self/fd"):
            from ..errors import Unsupported
            raise Unsupported("reading a running container's files safely needs openat2 "
                              "(Linux 5.6) or /proc mounted; this host has neither") from None
        raise


def _walk_in_root(root_fd: int, path: str, *, follow_final: bool) -> int:
    """:func:`open_in_root` for kernels without openat2: one ``O_PATH | O_NOFOLLOW`` open per
    component from fds we hold; symlinks read and resolved here; ``..`` pops our own stack, so
    the kernel never walks ``..`` or a link. Returns an ``O_PATH`` fd."""
    stack = [os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=root_fd)]
    pending = deque(split_path(path))
    hops = 0
    try:
        while pending:
            name = pending.popleft()
            if name == "..":
                if len(stack) > 1:
                    os.close(stack.pop())
                continue
            fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=stack[-1])
            mode = os.fstat(fd).st_mode
            if stat.S_ISLNK(mode) and (pending or follow_final):
                target = os.readlink("", dir_fd=fd)  # the link we opened, not whatever is there now
                os.close(fd)
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), path)
                if target.startswith("/"):
                    while len(stack) > 1:
                        os.close(stack.pop())
                pending.extendleft(reversed(split_path(target)))
                continue
            stack.append(fd)
            if pending and not stat.S_ISDIR(mode):
                raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
        return stack.pop()
    finally:
        for fd in stack:
            os.close(fd)


def read_in_root(root: Path | str, path: str) -> bytes | None:
    """The bytes of regular file ``path`` inside tree ``root`` (resolved as the container would,
    race-free), or None if it is missing or not a regular file."""
    with Dir.open(root) as top:
        try:
            handle = open_in_root(top.fd, path)
        except OSError:
            return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        with os.fdopen(reopen(handle, os.O_RDONLY), "rb") as file:
            return file.read()
    finally:
        os.close(handle)


class Dir:
    """A directory held by an fd; everything in it is looked up *at* it, never by a path the
    kernel would resolve again, and children are entered only if they are real directories.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / 'd').mkdir(); (root / 'l').symlink_to('/etc')
    >>> with Dir.open(root) as top:
    ...     sorted(top.entries()), top.child('l'), top.child('d') is not None
    (['d', 'l'], None, True)
    """

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, path: Path | str) -> Dir:
        """The tree's top, which is ours: the one path opened as given."""
        return cls(open_root(path))

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def entries(self) -> dict[str, os.stat_result]:
        """name -> lstat of every entry."""
        with os.scandir(self.fd) as it:
            return {e.name: e.stat(follow_symlinks=False) for e in it}

    def lstat(self, name: str) -> os.stat_result | None:
        try:
            return os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def child(self, name: str) -> Dir | None:
        """The subdirectory ``name``, or None if it is missing or not a real directory now."""
        try:
            return Dir(os.open(name, DIR_FLAGS, dir_fd=self.fd))
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                return None
            raise

    def descend(self, parts: list[str] | tuple[str, ...]) -> Dir | None:
        """A new handle on the real directory ``parts`` below this one, or None (missing, or
        some component is not a directory); the caller closes it."""
        current = Dir(os.dup(self.fd))
        for name in parts:
            child = current.child(name)
            current.close()
            if child is None:
                return None
            current = child
        return current

    def at(self, name: str) -> str:
        """A path for ``name`` that goes through our fd: safe for calls that do not follow the
        final component (``*xattr(..., follow_symlinks=False)``)."""
        return f"/proc/self/fd/{self.fd}/{name}"

    def readlink(self, name: str) -> str:
        return os.readlink(name, dir_fd=self.fd)

    def open_file(self, name: str) -> int | None:
        """A read fd for ``name`` if it is a regular file now (never a device, fifo or link)."""
        try:
            handle = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=self.fd)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            if not stat.S_ISREG(os.fstat(handle).st_mode):
                return None
            return reopen(handle, os.O_RDONLY)
        finally:
            os.close(handle)
