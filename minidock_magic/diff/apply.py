"""Apply a layer tar onto a rootfs, as image-spec layer.md says, and never outside it.

The tar is read once, as a stream (a blob being downloaded works too): its magic bytes pick
gzip / zstd / plain, the uncompressed bytes are hashed into the ``diff_id`` on the way, and
limits stop decompression bombs early.

Every entry is treated as hostile:

- names lose leading ``/`` and ``./`` (an absolute member lands inside the rootfs); a NUL or a
  ``..`` component is refused outright with :class:`UnsafeLayer` (:mod:`.members` says why);
- parent directories are resolved chroot-style (:mod:`.safepath`): a symlink in the rootfs is
  followed as the container would follow it, so ``lib/x`` with ``lib -> /usr/lib`` goes to
  ``usr/lib/x`` *in the rootfs*; the final component is never followed — an existing entry is
  replaced, not written through;
- all writes are ``*at`` calls on directory fds opened with ``O_NOFOLLOW``;
- hardlinks must name a regular file (or symlink) already inside the rootfs;
- symlink targets are kept verbatim (``/usr/lib`` is right *inside* the container);
- device nodes are only made when privileged, else skipped and reported;
- only ``security.capability`` and ``user.*`` xattrs are set; never overlayfs' own
  (``*.overlay.*``), which would steer a later overlay mount.

Whiteouts delete what the layers below left (not this layer's own entries). Opaque markers are
applied after the whole layer, emptying the directory of everything this layer did not write,
so their position in the tar does not matter.

That is ``whiteouts="delete"``, for a rootfs holding the whole stack. With ``whiteouts="overlay"``
the rootfs is one layer's own directory under overlayfs, where nothing below can be deleted, so
deletions are *recorded* the way overlayfs reads them: ``.wh.NAME`` becomes a 0/0 character
device NAME (unprivileged ``mknod`` allows exactly that one, Linux ≥ 5.8), and an opaque marker
sets ``opaque_xattrs`` (``trusted.overlay.opaque`` as root, ``user.overlay.opaque`` for a
``userxattr`` mount) to ``y`` on its directory. A real 0/0 character device in a layer would
read as a deletion there, so it is skipped and reported. Directory modes and mtimes are set last too
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import InvalidArgument, TooLarge, UnsafeLayer, Unsupported
from ..oci.digest import CHUNK, Digest
from .changes import is_layer_xattr
from .layerstream import ApplyLimits, bounded_tarinfo, open_layer_stream
from .members import check_depth, check_symlink_target, member_parts, mtime_ns, refusal
from .safepath import (
    DIR_FLAGS,
    make_owner_writable,
    open_dir,
    open_root,
    remove_at,
    remove_untouched,
    resolve_parts,
)
from .whiteout import OPAQUE_MARKER, OPAQUE_XATTRS, WHITEOUT_PREFIX, opaque_xattrs_for, whiteout_target

#: How whiteouts are written: deleting below, or recorded for overlayfs (see the docstring).
WHITEOUT_MODES = ("delete", "overlay")

_IGNORABLE = (errno.EPERM, errno.EINVAL, errno.ENOTSUP, errno.EACCES, errno.EOPNOTSUPP)


@dataclass
class ApplyReport:
    entries: int
    bytes_written: int
    diff_id: Digest
    skipped: list[str] = field(default_factory=list)


class _Applier:
    def __init__(self, root: Path, limits: ApplyLimits, privileged: bool,
                 opaque_xattrs: tuple[str, ...] | None = None, *, keep_privileges: bool = True) -> None:
        self.root, self.limits, self.privileged = root, limits, privileged
        #: False: no device nodes, setuid/setgid bits nor file capabilities (a host directory)
        self.keep_privileges = keep_privileges
        #: None: whiteouts delete; else the overlay form, with these opaque xattr names
        self.overlay = opaque_xattrs
        self.whited_out: set[tuple[str, ...]] = set()  # 0/0 devices made (overlay form)
        self.root_fd = open_root(root)
        self.entries = self.bytes_written = 0
        self.skipped: list[str] = []
        self.touched: set[tuple[str, ...]] = set()  # written by this layer, with their ancestors
        self.opaque: list[tuple[str, ...]] = []
        self.unapplied_xattrs: set[str] = set()
        self.dirs: dict[tuple[str, ...], tuple[int, int | None]] = {}  # path -> (mode, mtime ns)

    # -- names ----------------------------------------------------------------------------
    def _resolve(self, member: str, parts: tuple[str, ...]) -> tuple[str, ...]:
        try:
            resolved = resolve_parts(self.root, "/".join(parts), follow_final=True)
        except UnsafeLayer as error:
            raise refusal(member, str(error)) from None
        return check_depth(member, resolved, self.limits)

    def _open(self, member: str, parts: tuple[str, ...], *, create: bool) -> int:
        """The directory ``parts``, ready for this entry to write into."""
        if create and self.whited_out:
            self._revive(parts)
        try:
            fd = open_dir(self.root_fd, parts, create=create)
        except UnsafeLayer as error:
            raise refusal(member, str(error)) from None
        self._writable(fd, parts)
        return fd

    def _revive(self, parts: tuple[str, ...]) -> None:
        """Overlay form: an entry below a directory this layer whited out brings the directory
        back — as an opaque one, since what was below it stays deleted."""
        for i in range(1, len(parts) + 1):
            if parts[:i] in self.whited_out:
                self.whited_out.discard(parts[:i])
                pfd = open_dir(self.root_fd, parts[:i - 1])
                try:
                    remove_at(pfd, parts[i - 1])
                finally:
                    os.close(pfd)
                self.opaque.append(parts[:i])

    def _writable(self, fd: int, parts: tuple[str, ...]) -> None:
        old_mode = make_owner_writable(fd)
        if old_mode is not None:
            self.dirs.setdefault(parts, (old_mode, None))  # its own entry's mode wins, if any

    def _touch(self, parts: tuple[str, ...]) -> None:
        for i in range(len(parts), 0, -1):
            if parts[:i] in self.touched:
                break
            self.touched.add(parts[:i])

    # -- entries --------------------------------------------------------------------------
    def apply(self, m: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        try:
            self._apply(m, tar)
        except OSError as error:
            # A name the kernel refuses (a component over NAME_MAX, here or reached through a
            # symlink; a link text of PATH_MAX) would otherwise surface as a bare OSError that
            # names no member, and as a traceback in a notebook: refuse it in the one-line form.
            if error.errno == errno.ENAMETOOLONG:
                raise refusal(m.name, "a name component or link target is longer than the "
                                      "filesystem allows") from None
            raise

    def _apply(self, m: tarfile.TarInfo, tar: tarfile.TarFile) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise TooLarge(f"layer has more than {self.limits.max_entries} entries")
        parts = member_parts(m.name, self.limits)
        if parts and parts[-1].startswith(WHITEOUT_PREFIX):
            self._whiteout(m.name, parts)
            return
        if not parts:
            if not m.isdir():
                raise refusal(m.name, "the rootfs itself can only be a directory")
            self._owner(self.root_fd, None, m)
            if stat.S_IMODE(m.mode) & 0o700 == 0o700:  # never lock ourselves out of the rootfs
                self.dirs[()] = (stat.S_IMODE(m.mode), mtime_ns(m))
            return
        if m.issym():
            check_symlink_target(m.name, m.linkname, self.limits)
        elif m.ischr() or m.isblk():
            if self.overlay is not None and m.ischr() and m.devmajor == m.devminor == 0:
                self.skipped.append(f"{m.name}: 0/0 character device not created (overlayfs "
                                    "would read it as a deletion)")
                return
            if not self.privileged:
                self.skipped.append(f"{m.name}: device node not created (not privileged)")
                return
            if not self.keep_privileges:
                self.skipped.append(f"{m.name}: device node not created (not a container's rootfs)")
                return
        elif not (m.isreg() or m.isdir() or m.islnk() or m.isfifo()):
            self.skipped.append(f"{m.name}: unsupported tar entry type {m.type!r} ignored")
            return
        parent = self._resolve(m.name, parts[:-1])
        dest, base = check_depth(m.name, parent + (parts[-1],), self.limits), parts[-1]
        pfd = self._open(m.name, parent, create=True)
        try:
            if m.islnk():
                self._hardlink(m, pfd, base, dest)
            else:
                self._create(m, tar, pfd, base, dest)
        finally:
            os.close(pfd)

    def _create(self, m: tarfile.TarInfo, tar: tarfile.TarFile, pfd: int, base: str,
                dest: tuple[str, ...]) -> None:
        remove_at(pfd, base, keep_dir=m.isdir())
        if dest in self.whited_out:  # the whiteout device is gone now; a directory is opaque
            self.whited_out.discard(dest)
            if m.isdir():
                self.opaque.append(dest)
        mode = stat.S_IMODE(m.mode)
        if not self.keep_privileges and not m.isdir() and mode & (stat.S_ISUID | stat.S_ISGID):
            mode &= ~(stat.S_ISUID | stat.S_ISGID)
            self.skipped.append(f"{m.name}: setuid/setgid bits cleared (not a container's rootfs)")
        if m.isreg():
            fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600, dir_fd=pfd)
            try:
                source = tar.extractfile(m)
                assert source is not None
                while chunk := source.read(CHUNK):
                    self.bytes_written += _write_all(fd, chunk)
                    if self.bytes_written > self.limits.max_bytes:  # sparse members expand
                        raise TooLarge(f"layer writes more than {self.limits.max_bytes} bytes")
                self._owner(fd, None, m)
                os.chmod(fd, mode)  # after chown, which clears setuid bits
                self._xattrs(fd, m)
                os.utime(fd, ns=(mtime_ns(m),) * 2)
            finally:
                os.close(fd)
        elif m.isdir():
            try:
                os.mkdir(base, 0o700, dir_fd=pfd)  # final mode at the end, once children exist
            except FileExistsError:
                pass  # a directory over a directory keeps it (and takes the new metadata)
            fd = os.open(base, DIR_FLAGS, dir_fd=pfd)
            try:
                self._owner(fd, None, m)
                self._xattrs(fd, m)
            finally:
                os.close(fd)
            self.dirs[dest] = (mode, mtime_ns(m))
        elif m.issym():
            os.symlink(m.linkname, base, dir_fd=pfd)
            self._owner(pfd, base, m)
        else:  # fifo or (privileged) device node
            kind = stat.S_IFIFO if m.isfifo() else stat.S_IFCHR if m.ischr() else stat.S_IFBLK
            try:
                os.mknod(base, 0o600 | kind, os.makedev(m.devmajor, m.devminor), dir_fd=pfd)
            except (PermissionError, OverflowError):
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
                os.utime(base, ns=(mtime_ns(m),) * 2, dir_fd=pfd, follow_symlinks=False)
            except OSError:
                pass
        self._touch(dest)

    def _hardlink(self, m: tarfile.TarInfo, pfd: int, base: str, dest: tuple[str, ...]) -> None:
        link = member_parts(m.linkname, self.limits, member=m.name, what="hardlink target")
        if not link:
            raise refusal(m.name, "hardlink to the rootfs itself")
        target = self._resolve(m.name, link[:-1]) + (link[-1],)
        if target == dest:
            return  # a link to itself: the file is already there
        refused = refusal(m.name, f"hardlink target {m.linkname!r} is not a file inside the rootfs")
        try:
            tfd = self._open(m.name, target[:-1], create=False)
        except FileNotFoundError:
            raise refused from None
        try:
            try:
                st = os.stat(target[-1], dir_fd=tfd, follow_symlinks=False)
            except FileNotFoundError:
                raise refused from None
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                raise refused
            remove_at(pfd, base)
            self.whited_out.discard(dest)
            try:
                os.link(target[-1], base, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
            except FileNotFoundError:  # the target lived under what this entry just replaced
                raise refused from None
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
            raise refusal(member, "a whiteout must name one entry")
        if parent + (name,) in self.touched:  # layer.md: whiteouts only hide lower layers
            self.skipped.append(f"{member}: whiteout of this layer's own entry ignored")
            return
        if self.overlay is not None:
            self._overlay_whiteout(member, parent, name)
            return
        try:
            pfd = open_dir(self.root_fd, parent)
        except (FileNotFoundError, UnsafeLayer):
            return  # no directory there: nothing below to delete
        self._writable(pfd, parent)
        try:
            remove_at(pfd, name)
        finally:
            os.close(pfd)

    def _overlay_whiteout(self, member: str, parent: tuple[str, ...], name: str) -> None:
        # The directory may exist only in a lower layer: it is made here, as overlayfs would
        # on copy-up, so that the deletion has somewhere to be recorded.
        pfd = self._open(member, parent, create=True)
        try:
            remove_at(pfd, name)
            os.mknod(name, stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)
        finally:
            os.close(pfd)
        self.whited_out.add(parent + (name,))

    def _make_opaque(self, directory: tuple[str, ...], xattrs: tuple[str, ...]) -> None:
        try:  # made if missing: an opaque directory with nothing in it is still a directory
            fd = open_dir(self.root_fd, directory, create=True)
        except UnsafeLayer:
            return  # replaced by a non-directory later in the layer: nothing to hide
        try:
            self._writable(fd, directory)  # user.* xattrs need write permission, even ours
            for name in xattrs:
                try:
                    os.setxattr(fd, name, b"y")
                except OSError as error:
                    raise Unsupported(f"cannot mark /{'/'.join(directory)} opaque with {name} "
                                      f"here ({error.strerror}): overlay layers need a "
                                      "filesystem with xattrs (and root for trusted.*)") from None
        finally:
            os.close(fd)

    # -- metadata -------------------------------------------------------------------------
    def _owner(self, fd: int, name: str | None, m: tarfile.TarInfo) -> None:
        if not self.privileged:
            return  # rootless: files stay ours (user namespaces map them at run time)
        try:
            if name is None:
                os.chown(fd, m.uid, m.gid)
            else:
                os.chown(name, m.uid, m.gid, dir_fd=fd, follow_symlinks=False)
        except OverflowError:
            pass  # an absurd uid from a PAX header: leave the owner as it is
        except OSError as error:
            if error.errno not in _IGNORABLE:  # EINVAL: uid not mapped in this user namespace
                raise

    def _xattrs(self, fd: int, m: tarfile.TarInfo) -> None:
        for key, value in m.pax_headers.items():
            if not key.startswith("SCHILY.xattr."):
                continue
            name = key[len("SCHILY.xattr."):]
            if name == "security.capability" and not self.keep_privileges:
                self.skipped.append(f"{m.name}: file capabilities not set (not a container's rootfs)")
                continue
            if not is_layer_xattr(name):
                if name not in self.unapplied_xattrs:  # once per name: SELinux labels are on every file
                    self.unapplied_xattrs.add(name)
                    self.skipped.append(f"{m.name}: xattr {name} not applied (nor on later entries)")
                continue
            try:
                os.setxattr(fd, name, value.encode("utf-8", "surrogateescape"))
            except OSError as error:
                if error.errno not in _IGNORABLE:
                    raise

    def finish(self) -> None:
        for directory in self.opaque if self.overlay is not None else ():
            self._make_opaque(directory, self.overlay)  # type: ignore[arg-type]
        for directory in self.opaque if self.overlay is None else ():
            try:
                fd = open_dir(self.root_fd, directory)
            except (FileNotFoundError, UnsafeLayer):
                continue  # replaced by a non-directory later in the layer: nothing to hide
            try:
                self._writable(fd, directory)
                remove_untouched(fd, directory, self.touched)
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
                if mtime is not None:
                    os.utime(fd, ns=(mtime, mtime))
            finally:
                os.close(fd)

    def close(self) -> None:
        os.close(self.root_fd)


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    return len(data)


def apply_layer(stream: BinaryIO, root: Path, *, limits: ApplyLimits = ApplyLimits(),
                privileged: bool | None = None, whiteouts: str = "delete",
                opaque_xattrs: Sequence[str] | None = None,
                keep_privileges: bool = True) -> ApplyReport:
    """Apply the layer in ``stream`` (gzip, zstd or plain tar) onto the rootfs ``root``.

    ``keep_privileges=False`` is for a directory on the host rather than a container's rootfs
    (``unpack``): a root-owned setuid shell or a device node from an image must not appear on
    the host, so device nodes are skipped and setuid/setgid bits and file capabilities dropped
    (each reported in ``skipped``).

    ``whiteouts``: ``"delete"`` (``root`` holds the layers below) or ``"overlay"`` (``root`` is
    this layer's own overlayfs directory; ``opaque_xattrs`` default to
    :func:`~.whiteout.opaque_xattrs_for` this process — say which the overlay will be mounted with).
    """
    if privileged is None:
        privileged = os.geteuid() == 0
    if whiteouts not in WHITEOUT_MODES:
        raise InvalidArgument(f"whiteouts={whiteouts!r}: use one of {', '.join(WHITEOUT_MODES)}")
    xattrs: tuple[str, ...] | None = None
    if whiteouts == "overlay":
        xattrs = tuple(opaque_xattrs) if opaque_xattrs is not None else \
            opaque_xattrs_for(rootless=os.geteuid() != 0)
        if not xattrs or any(x not in OPAQUE_XATTRS for x in xattrs):
            raise InvalidArgument(f"opaque_xattrs={opaque_xattrs!r}: overlayfs reads "
                                  "trusted.overlay.opaque or user.overlay.opaque")
    reader = open_layer_stream(stream, limits)
    applier = _Applier(Path(root), limits, privileged, xattrs, keep_privileges=keep_privileges)
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
