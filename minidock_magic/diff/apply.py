"""Apply a layer tar onto a rootfs, as image-spec layer.md says, and never outside it.

The tar is read once, as a stream (a blob being downloaded works too): its magic bytes pick
gzip / zstd / plain, the uncompressed bytes are hashed into the ``diff_id`` on the way, and
limits stop decompression bombs early.

Every entry is treated as hostile:

- names lose leading ``/`` and ``./`` (an absolute member lands inside the rootfs); a NUL or a
  ``..`` component is refused outright with :class:`UnsafeLayer` — no real image tool writes
  ``..`` into a member name, so clamping it would only hide an attack (moby refuses them too);
- parent directories are resolved chroot-style (:mod:`.safepath`): a symlink in the rootfs is
  followed as the container would follow it, so ``lib/x`` with ``lib -> /usr/lib`` goes to
  ``usr/lib/x`` *in the rootfs*; the final component is never followed — an existing entry is
  replaced, not written through;
- all writes are ``*at`` calls on directory fds opened with ``O_NOFOLLOW``;
- hardlinks must name a regular file (or symlink) already inside the rootfs;
- symlink targets are kept verbatim (``/usr/lib`` is right *inside* the container);
- device nodes are only made when privileged, else skipped and reported;
- overlayfs' own xattrs (``*.overlay.*``) are never set: they would steer a later overlay mount.

Whiteouts delete what the layers below left (not this layer's own entries). Opaque markers are
applied after the whole layer, emptying the directory of everything this layer did not write,
so their position in the tar does not matter. Directory modes and mtimes are set last too
(writing children changes a directory's mtime; a 0555 directory would refuse them).

On any error the rootfs is left half-applied: callers apply into a fresh snapshot and discard it.
"""

from __future__ import annotations

import errno
import gzip
import os
import stat
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidArgument, TooLarge, UnsafeLayer
from ..oci.digest import CHUNK, Digest
from .changes import is_layer_xattr
from .layerstream import ApplyLimits, bounded_tarinfo, open_layer_stream
from .safepath import open_dir, open_root, remove_at, resolve_parts, split_path
from .whiteout import OPAQUE_MARKER, WHITEOUT_PREFIX, whiteout_target

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_IGNORABLE = (errno.EPERM, errno.EINVAL, errno.ENOTSUP, errno.EACCES, errno.EOPNOTSUPP)


@dataclass
class ApplyReport:
    entries: int
    bytes_written: int
    diff_id: Digest
    skipped: list[str] = field(default_factory=list)


def _ns(mtime: float) -> int:
    return mtime * 1_000_000_000 if isinstance(mtime, int) else int(mtime * 1e9)


class _Applier:
    def __init__(self, root: Path, limits: ApplyLimits, privileged: bool) -> None:
        self.root, self.limits, self.privileged = root, limits, privileged
        self.root_fd = open_root(root)
        self.entries = self.bytes_written = 0
        self.skipped: list[str] = []
        self.touched: set[tuple[str, ...]] = set()  # written by this layer, with their ancestors
        self.opaque: list[tuple[str, ...]] = []
        self.dirs: dict[tuple[str, ...], tuple[int, int]] = {}  # path -> (mode, mtime ns)

    # -- names ----------------------------------------------------------------------------
    def _parts(self, member: str, name: str, what: str = "name") -> tuple[str, ...]:
        if "\0" in name:
            raise UnsafeLayer(f"refused layer entry {member!r}: its {what} contains a NUL byte")
        if len(name.encode("utf-8", "surrogateescape")) > self.limits.max_path_length:
            raise TooLarge(f"layer entry {member[:80]!r}…: {what} longer than "
                           f"{self.limits.max_path_length} bytes")
        parts = tuple(split_path(name))
        if ".." in parts:
            raise UnsafeLayer(f"refused layer entry {member!r}: its {what} contains '..'")
        return self._depth(member, parts)

    def _depth(self, member: str, parts: tuple[str, ...]) -> tuple[str, ...]:
        if len(parts) > self.limits.max_depth:
            raise TooLarge(f"layer entry {member[:80]!r}…: deeper than {self.limits.max_depth} levels")
        return parts

    def _resolve(self, member: str, parts: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return self._depth(member, resolve_parts(self.root, "/".join(parts), follow_final=True))
        except UnsafeLayer as error:
            raise UnsafeLayer(f"refused layer entry {member!r}: {error}") from None

    def _open(self, member: str, parts: tuple[str, ...], *, create: bool) -> int:
        try:
            return open_dir(self.root_fd, parts, create=create)
        except UnsafeLayer as error:
            raise UnsafeLayer(f"refused layer entry {member!r}: {error}") from None

    def _touch(self, parts: tuple[str, ...]) -> None:
        for i in range(len(parts), 0, -1):
            if parts[:i] in self.touched:
                break
            self.touched.add(parts[:i])

    # -- entries --------------------------------------------------------------------------
    def apply(self, m: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise TooLarge(f"layer has more than {self.limits.max_entries} entries")
        parts = self._parts(m.name, m.name)
        if parts and parts[-1].startswith(WHITEOUT_PREFIX):
            return self._whiteout(m.name, parts)
        if not parts:
            if not m.isdir():
                raise UnsafeLayer(f"refused layer entry {m.name!r}: the rootfs itself can only "
                                  "be a directory")
            self._owner(self.root_fd, None, m)
            if stat.S_IMODE(m.mode) & 0o700 == 0o700:  # never lock ourselves out of the rootfs
                self.dirs[()] = (stat.S_IMODE(m.mode), _ns(m.mtime))
            return None
        parent = self._resolve(m.name, parts[:-1])
        dest, base = self._depth(m.name, parent + (parts[-1],)), parts[-1]
        if m.ischr() or m.isblk():
            if not self.privileged:
                self.skipped.append(f"{m.name}: device node not created (not privileged)")
                return None
        elif not (m.isreg() or m.isdir() or m.issym() or m.islnk() or m.isfifo()):
            self.skipped.append(f"{m.name}: unsupported tar entry type {m.type!r} ignored")
            return None
        pfd = self._open(m.name, parent, create=True)
        try:
            if m.islnk():
                self._hardlink(m, pfd, base, dest)
            else:
                self._create(m, tar, pfd, base, dest)
        finally:
            os.close(pfd)
        return None

    def _create(self, m: tarfile.TarInfo, tar: tarfile.TarFile, pfd: int, base: str,
                dest: tuple[str, ...]) -> None:
        remove_at(pfd, base, keep_dir=m.isdir())
        mode = stat.S_IMODE(m.mode)
        if m.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600, dir_fd=pfd)
            try:
                source = tar.extractfile(m)
                assert source is not None
                while chunk := source.read(CHUNK):
                    self.bytes_written += _write_all(fd, chunk)
                self._owner(fd, None, m)
                os.chmod(fd, mode)  # after chown, which clears setuid bits
                self._xattrs(fd, m)
                os.utime(fd, ns=(_ns(m.mtime),) * 2)
            finally:
                os.close(fd)
        elif m.isdir():
            try:
                os.mkdir(base, 0o700, dir_fd=pfd)  # final mode at the end, once children exist
            except FileExistsError:
                pass  # a directory over a directory keeps it (and takes the new metadata)
            fd = os.open(base, _DIR_FLAGS, dir_fd=pfd)
            try:
                self._owner(fd, None, m)
                self._xattrs(fd, m)
            finally:
                os.close(fd)
            self.dirs[dest] = (mode, _ns(m.mtime))
        elif m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
            self._owner(pfd, base, m)
        else:  # fifo or (privileged) device node
            kind = stat.S_IFIFO if m.isfifo() else stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            try:
                os.mknod(base, 0o600 | kind, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
            except PermissionError:
                self.skipped.append(f"{m.name}: device node not created (not permitted here)")
                return
            self._owner(pfd, base, m)
            fd = os.open(base, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=pfd)
            try:
                os.chmod(f"/proc/self/fd/{fd}", mode)  # no fchmod on O_PATH, nor lchmod on Linux
            finally:
                os.close(fd)
        if not m.isreg():
            try:
                os.utime(base, ns=(_ns(m.mtime),) * 2, dir_fd=pfd, follow_symlinks=False)
            except OSError:
                pass
        self._touch(dest)

    def _hardlink(self, m: tarfile.TarInfo, pfd: int, base: str, dest: tuple[str, ...]) -> None:
        link = self._parts(m.name, m.linkname, "hardlink target")
        if not link:
            raise UnsafeLayer(f"refused layer entry {m.name!r}: hardlink to the rootfs itself")
        target = self._resolve(m.name, link[:-1]) + (link[-1],)
        if target == dest:
            return  # a link to itself: the file is already there
        refusal = (f"refused layer entry {m.name!r}: hardlink target {m.linkname!r} is not a file "
                   "inside the rootfs")
        try:
            tfd = self._open(m.name, target[:-1], create=False)
        except FileNotFoundError:
            raise UnsafeLayer(refusal) from None
        try:
            try:
                st = os.stat(target[-1], dir_fd=tfd, follow_symlinks=False)
            except FileNotFoundError:
                raise UnsafeLayer(refusal) from None
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                raise UnsafeLayer(refusal)
            remove_at(pfd, base)
            os.link(target[-1], base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
        finally:
            os.close(tfd)
        self._touch(dest)

    def _whiteout(self, member: str, parts: tuple[str, ...]) -> None:
        parent = self._resolve(member, parts[:-1])
        if parts[-1] == OPAQUE_MARKER:
            self.opaque.append(parent)
            return
        target = whiteout_target("/".join(parts))
        if target is None:
            self.skipped.append(f"{member}: reserved whiteout name ignored")
            return
        name = target.rsplit("/", 1)[-1]
        if name in ("", ".", ".."):
            raise UnsafeLayer(f"refused layer entry {member!r}: a whiteout must name one entry")
        if parent + (name,) in self.touched:  # layer.md: whiteouts only hide lower layers
            self.skipped.append(f"{member}: whiteout of this layer's own entry ignored")
            return
        try:
            pfd = self._open(member, parent, create=False)
        except FileNotFoundError:
            return  # nothing below to delete
        try:
            remove_at(pfd, name)
        finally:
            os.close(pfd)

    # -- metadata -------------------------------------------------------------------------
    def _owner(self, fd: int, name: str | None, m: tarfile.TarInfo) -> None:
        if not self.privileged:
            return  # rootless: files stay ours (user namespaces map them at run time)
        try:
            if name is None:
                os.chown(fd, m.uid, m.gid)
            else:
                os.chown(name, m.uid, m.gid, dir_fd=fd, follow_symlinks=False)
        except OSError as error:
            if error.errno not in _IGNORABLE:  # EINVAL: uid not mapped in this user namespace
                raise

    def _xattrs(self, fd: int, m: tarfile.TarInfo) -> None:
        for key, value in m.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr."):]
            if not is_layer_xattr(name):
                self.skipped.append(f"{m.name}: xattr {name} not applied")
                continue
            try:
                os.setxattr(fd, name, value.encode("utf-8", "surrogateescape"))
            except OSError as error:
                if error.errno not in _IGNORABLE:
                    raise

    def finish(self) -> None:
        for directory in self.opaque:
            try:
                fd = open_dir(self.root_fd, directory)
            except (FileNotFoundError, UnsafeLayer):
                continue  # replaced by a non-directory later in the layer: nothing to hide
            try:
                self._hide_lower(fd, directory)
            finally:
                os.close(fd)
        for directory in sorted(self.dirs, key=len, reverse=True):  # children first
            mode, mtime = self.dirs[directory]
            try:
                fd = open_dir(self.root_fd, directory)
            except (FileNotFoundError, UnsafeLayer):
                continue  # a later entry replaced it
            try:
                os.chmod(fd, mode)
                os.utime(fd, ns=(mtime, mtime))
            finally:
                os.close(fd)

    def _hide_lower(self, fd: int, directory: tuple[str, ...]) -> None:
        with os.scandir(fd) as it:
            children = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        for name, is_dir in children:
            if directory + (name,) not in self.touched:
                remove_at(fd, name)
            elif is_dir:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
                try:
                    self._hide_lower(child, directory + (name,))
                finally:
                    os.close(child)

    def close(self) -> None:
        os.close(self.root_fd)


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


def apply_layer(stream: BinaryIO, root: Path, *, limits: ApplyLimits = ApplyLimits(),
                privileged: bool | None = None) -> ApplyReport:
    """Apply the layer in ``stream`` (gzip, zstd or plain tar) onto the rootfs ``root``."""
    if privileged is None:
        privileged = os.geteuid() == 0
    reader = open_layer_stream(stream, limits)
    applier = _Applier(Path(root), limits, privileged)
    try:
        with tarfile.open(fileobj=reader, mode="r|", tarinfo=bounded_tarinfo(limits.max_header_bytes),
                          encoding="utf-8", errors="surrogateescape") as tar:  # type: ignore[call-overload]
            while (member := tar.next()) is not None:
                tar.members.clear()  # stream mode keeps every header otherwise: memory ~ entries
                applier.apply(member, tar)
        applier.finish()
        diff_id = reader.drain()
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, RecursionError) as error:
        raise InvalidArgument(f"layer is not a valid tar archive: {error}") from None
    except Exception as error:
        if type(error).__name__ == "ZstdError":  # zstandard is optional: no import just for this
            raise InvalidArgument(f"layer is not valid zstd: {error}") from None
        raise
    finally:
        applier.close()
    return ApplyReport(applier.entries, applier.bytes_written, diff_id, applier.skipped)
