"""``export`` and ``cp``: a container's files, always resolved inside its own rootfs.

A container's filesystem is its image's layers plus its writable layer. To read it without
trusting any symlink in it, we *materialise* it: unpack the image into a scratch directory and
apply the writable layer's changes as one more layer — the same safe extractor every layer goes
through (reading the writable layer by fds only, since a running container may be changing it).
Writes into a container are made by fds on its own root (``/proc/PID/root`` of a running one):
the destination is resolved with ``openat2(RESOLVE_IN_ROOT)`` and every entry created ``*at`` it.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from ..diff.apply import apply_layer
from ..diff.safepath import Dir, open_in_root, resolve_parts, split_path
from ..diff.writer import write_layer, write_tree_layer
from ..errors import Conflict, InvalidArgument, NotFound
from ..images.image import load_image
from ..images.unpack import unpack_layers
from ..oci.descriptor import Descriptor
from .record import ContainerConfig

DIR_OPEN = os.O_RDONLY | os.O_DIRECTORY
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def materialize(containers: object, config: ContainerConfig, dest: Path) -> Path:
    """The container's whole filesystem as a plain directory at ``dest``."""
    service = containers  # a Containers; typed loosely to avoid an import cycle
    image = load_image(service.content, Descriptor.from_json(config.image_target))  # type: ignore[attr-defined]
    dest.mkdir(parents=True)
    unpack_layers(service.content, image, dest)  # type: ignore[attr-defined]
    changes, source = service.writable_changes(config)  # type: ignore[attr-defined]
    with tempfile.TemporaryFile(dir=dest.parent) as layer:
        write_layer(changes, source, layer, compression="none")
        layer.seek(0)
        apply_layer(layer, dest)
    return dest


def export(containers: object, config: ContainerConfig, out: BinaryIO, scratch: Path) -> None:
    """``docker export``: the flattened filesystem as one uncompressed tar."""
    with tempfile.TemporaryDirectory(dir=scratch, prefix="export-") as tmp:
        root = materialize(containers, config, Path(tmp) / "rootfs")
        write_tree_layer(root, out, compression="none")


def copy_out(containers: object, config: ContainerConfig, source: str, dest: Path,
             scratch: Path) -> Path:
    """``docker cp CONTAINER:SRC DEST``: a symlink is copied as a symlink, as docker does."""
    with tempfile.TemporaryDirectory(dir=scratch, prefix="cp-") as tmp:
        root = materialize(containers, config, Path(tmp) / "rootfs")
        found = root.joinpath(*resolve_parts(root, source, follow_final=False))
        if not os.path.lexists(found):
            raise NotFound(f"Could not find the file {source} in container {config.name}")
        target = dest / found.name if dest.is_dir() else dest
        if found.is_dir() and not found.is_symlink():
            shutil.copytree(found, target, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(found, target, follow_symlinks=False)
        return target


def copy_in(root: Path, source: Path, dest: str, *, merged: Path | None = None) -> Path:
    """``docker cp SRC CONTAINER:DEST`` into ``root`` (a live rootfs, or a writable layer; then
    ``merged`` is the materialised view used to resolve the path, as the container would).
    Returns the path written, as the container sees it.

    ``root`` may belong to a running container that swaps directories for symlinks to the host
    while we copy, so nothing here is a host path: the destination is opened with
    :func:`~..diff.safepath.open_in_root` (or, for a stopped container's layer, resolved in the
    quiet materialised view) and everything is written with ``*at`` calls on held fds.
    """
    if not os.path.lexists(source):
        raise NotFound(f"no such file on the host: {source}")
    with Dir.open(root) as top:
        parent, name, where = (_destination(top, dest, source.name) if merged is None
                               else _layer_destination(top, merged, dest, source.name))
        with parent:
            _copy_entry(source, parent, name)
    return Path("/", *where)


def _destination(top: Dir, dest: str, default_name: str) -> tuple[Dir, str, tuple[str, ...]]:
    """(directory, name) to copy to in a live tree: into ``dest`` if it is a directory there,
    else as ``dest``'s last component in its parent directory."""
    try:
        return Dir(open_in_root(top.fd, dest, DIR_OPEN)), default_name, (*split_path(dest), default_name)
    except OSError as error:
        if error.errno not in (errno.ENOENT, errno.ENOTDIR):
            raise InvalidArgument(f"cannot copy to {dest} in the container: {error.strerror}") from None
    parent, _, name = dest.rstrip("/").rpartition("/")
    if name in ("", ".", "..") or dest.endswith("/"):
        raise InvalidArgument(f"no such directory in the container: {dest}")
    try:
        return Dir(open_in_root(top.fd, parent or "/", DIR_OPEN)), name, (*split_path(parent), name)
    except OSError:
        raise InvalidArgument(f"{parent or '/'} is not a directory in the container") from None


def _layer_destination(layer: Dir, merged: Path, dest: str,
                       default_name: str) -> tuple[Dir, str, tuple[str, ...]]:
    """Like :func:`_destination` for a stopped overlay container: resolved in the merged view,
    written into its upper layer, where missing parents are made like the ones below them."""
    parts = resolve_parts(merged, dest, follow_final=True)
    if merged.joinpath(*parts).is_dir():
        parts = (*parts, default_name)
    if not parts:
        raise InvalidArgument("cannot copy over the container's root directory")
    current = Dir(os.dup(layer.fd))
    try:
        for depth, name in enumerate(parts[:-1], 1):
            below = merged.joinpath(*parts[:depth])
            if not below.is_dir() or below.is_symlink():
                raise InvalidArgument(f"{'/'.join(parts[:depth])} is not a directory in the container")
            child = current.child(name)
            if child is None:
                os.mkdir(name, 0o700, dir_fd=current.fd)
                child = current.child(name)
                if child is None:
                    raise InvalidArgument(f"cannot make {'/'.join(parts[:depth])} in the container")
                _copy_dir_metadata(os.stat(below), child.fd)
            current.close()
            current = child
        return current, parts[-1], parts
    except BaseException:
        current.close()
        raise


def _copy_dir_metadata(st: os.stat_result, fd: int) -> None:
    if os.geteuid() == 0:
        os.chown(fd, st.st_uid, st.st_gid)
    os.chmod(fd, stat.S_IMODE(st.st_mode))
    os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))


def _copy_entry(source: Path, parent: Dir, name: str) -> None:
    """Copy host ``source`` to ``name`` in ``parent``: symlinks as symlinks (``cp -a``); an
    existing non-directory is replaced, as docker does, never written through."""
    st = os.lstat(source)
    if stat.S_ISDIR(st.st_mode):
        with _directory_at(parent, name) as sub:
            with os.scandir(source) as it:
                children = sorted(entry.name for entry in it)
            for child in children:
                _copy_entry(source / child, sub, child)
            os.chmod(sub.fd, stat.S_IMODE(st.st_mode))
            os.utime(sub.fd, ns=(st.st_atime_ns, st.st_mtime_ns))
    elif stat.S_ISLNK(st.st_mode):
        _clear_for_file(parent, name)
        os.symlink(os.readlink(source), name, dir_fd=parent.fd)
    elif stat.S_ISREG(st.st_mode):
        _clear_for_file(parent, name)
        with open(source, "rb") as src:
            try:
                fd = os.open(name, CREATE_FLAGS, 0o600, dir_fd=parent.fd)
            except FileExistsError:  # the container put something there meanwhile
                raise Conflict(f"{name} keeps changing in the container; try again") from None
            with os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
                os.chmod(fd, stat.S_IMODE(st.st_mode))
                os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))
    # fifos, sockets and device nodes on the host are not copied into containers


def _clear_for_file(parent: Dir, name: str) -> None:
    existing = parent.lstat(name)
    if existing is None:
        return
    if stat.S_ISDIR(existing.st_mode):
        raise InvalidArgument(f"cannot overwrite directory {name!r} with a non-directory")
    os.unlink(name, dir_fd=parent.fd)


def _directory_at(parent: Dir, name: str) -> Dir:
    """The real directory ``name`` in ``parent``, made if missing (docker's rule: a
    non-directory there is an error — a symlink too, wherever it points)."""
    sub = parent.child(name)
    if sub is not None:
        return sub
    if parent.lstat(name) is not None:
        raise InvalidArgument(f"cannot overwrite non-directory {name!r} with a directory")
    try:
        os.mkdir(name, 0o700, dir_fd=parent.fd)
    except FileExistsError:
        pass
    sub = parent.child(name)
    if sub is None:
        raise Conflict(f"{name} keeps changing in the container; try again")
    return sub
