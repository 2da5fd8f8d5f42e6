"""Copy a whole snapshot tree, the way ``cp -a`` would, without ever following a symlink.

The source is a committed snapshot: ours, but filled from hostile layers, so its symlinks may
point anywhere. Every entry is looked at with ``lstat``; directories are descended only when
they are real directories; files are opened with ``O_NOFOLLOW``; symlinks are recreated from
their text. Kept: types, modes (setuid too), owners (when privileged), nanosecond mtimes,
symlinks, hardlinks within the tree, xattrs where the kernel lets us set them, device nodes
(when allowed), fifos. Sockets are not image content and are skipped.

Contents are copied in the kernel: a reflink (``FICLONE``) where the filesystem shares blocks
(btrfs, xfs), else ``copy_file_range`` — never through Python buffers.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

FICLONE = 0x40049409  # _IOW(0x94, 9, int)
_IGNORABLE = (errno.EPERM, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EINVAL)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _copy_data(src_fd: int, dst_fd: int, size: int) -> None:
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
        return
    except OSError:
        pass  # no shared blocks here (ext4, tmpfs, across filesystems): copy them
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src_fd, dst_fd, size - done)
            if n == 0:
                break  # the file shrank under us; what was there is copied
            done += n
        return
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    os.lseek(src_fd, done, os.SEEK_SET)
    os.lseek(dst_fd, done, os.SEEK_SET)
    while chunk := os.read(src_fd, 1 << 20):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst_fd, view):]


def _copy_xattrs(src: str | int, dst: str | int) -> None:
    try:
        names = os.listxattr(src)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name))
        except OSError as error:  # trusted.* unprivileged, security.selinux, …: the host's say
            if error.errno not in _IGNORABLE + (errno.ENODATA,):
                raise


def _open_readable(path: str, st: os.stat_result, flags: int) -> int:
    """Open ``path``; unprivileged, a file of ours with mode 0000 (RHEL's /etc/shadow) needs
    the read bit for a moment — which is then given back, exactly as it was."""
    try:
        return os.open(path, flags)
    except PermissionError:
        if st.st_uid != os.geteuid():
            raise
    os.chmod(path, stat.S_IMODE(st.st_mode) | 0o500)
    try:
        return os.open(path, flags)
    finally:
        os.chmod(path, stat.S_IMODE(st.st_mode))


class _TreeCopier:
    def __init__(self, privileged: bool) -> None:
        self.privileged = privileged
        self.links: dict[tuple[int, int], str] = {}  # (dev, ino) of a source file -> its copy

    def _owner(self, dst: str | int, st: os.stat_result, *, follow: bool = True) -> None:
        if not self.privileged:
            return  # rootless: everything stays ours, as the applier left it
        try:
            os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=follow)
        except OSError as error:
            if error.errno not in _IGNORABLE:
                raise

    def _file(self, src: str, dst: str, st: os.stat_result) -> None:
        if st.st_nlink > 1:
            first = self.links.setdefault((st.st_dev, st.st_ino), dst)
            if first != dst:
                os.link(first, dst, follow_symlinks=False)
                return
        src_fd = _open_readable(src, st, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            dst_fd = os.open(dst, _CREATE, 0o600)
            try:
                _copy_data(src_fd, dst_fd, st.st_size)
                self._owner(dst_fd, st)
                os.chmod(dst_fd, stat.S_IMODE(st.st_mode))  # after chown, which clears setuid
                _copy_xattrs(src_fd, dst_fd)
                os.utime(dst_fd, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(dst_fd)
        finally:
            os.close(src_fd)

    def _special(self, src: str, dst: str, st: os.stat_result) -> None:
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dst)
            self._owner(dst, st, follow=False)
        else:  # fifo or device node: device nodes need CAP_MKNOD (0/0 whiteouts excepted)
            try:
                os.mknod(dst, stat.S_IFMT(st.st_mode) | 0o600, st.st_rdev)
            except PermissionError:
                return  # the applier could not have made it here either
            self._owner(dst, st, follow=False)
            os.chmod(dst, stat.S_IMODE(st.st_mode))
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)

    def directory(self, src: str, dst: str) -> None:
        """Copy the entries of ``src`` into the existing directory ``dst``."""
        fd = _open_readable(src, os.lstat(src), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
                            | os.O_CLOEXEC)
        try:
            with os.scandir(fd) as it:
                entries = [(e.name, e.stat(follow_symlinks=False)) for e in it]
        finally:
            os.close(fd)
        for name, st in entries:
            s, d = os.path.join(src, name), os.path.join(dst, name)
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(d, 0o700)  # writable until its children are in; real mode below
                self.directory(s, d)
                self.finish_dir(s, d, st)
            elif stat.S_ISREG(st.st_mode):
                self._file(s, d, st)
            elif stat.S_ISSOCK(st.st_mode):
                continue
            else:
                self._special(s, d, st)

    def finish_dir(self, src: str, dst: str, st: os.stat_result) -> None:
        self._owner(dst, st)
        os.chmod(dst, stat.S_IMODE(st.st_mode))
        _copy_xattrs(src, dst)
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))  # last: children changed it


def copy_tree(src: Path, dst: Path, *, privileged: bool | None = None) -> None:
    """Copy everything under directory ``src`` into the existing, empty directory ``dst``,
    and give ``dst`` the metadata of ``src``."""
    copier = _TreeCopier(os.geteuid() == 0 if privileged is None else privileged)
    st = os.lstat(src)
    if not stat.S_ISDIR(st.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(src))
    copier.directory(str(src), str(dst))
    copier.finish_dir(str(src), str(dst), st)
