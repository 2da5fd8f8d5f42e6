"""COPY, ADD and WORKDIR as layers, written without a container.

The files are laid out in an empty *staging* directory at the paths they will have in the image;
that directory is then written as one layer. Two things make the layer behave like docker's:

- the destination is resolved against the image's filesystem (``rootfs``, an unpacked view of
  the current step's image): a ``/bin -> usr/bin`` symlink is followed, so the layer writes
  ``usr/bin/x`` instead of a ``bin/`` directory that would replace the link;
- every directory on the way that already exists is staged with the image's own mode and owner
  (and no opaque marker), so the layer's copy of ``/etc`` changes nothing about ``/etc`` and
  hides none of its lower files.

What buildah does is the yardstick: a new destination directory is 0755; copied files and
subdirectories keep their modes; everything copied and every directory the step creates is
owned by ``--chown`` (else root); copied entries get the build epoch as mtime, so a layer
depends only on what the cache key sees.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..containers.owners import container_owners
from ..diff.apply import apply_layer
from ..diff.safepath import resolve_parts
from ..errors import InvalidArgument
from .context import Source, SourceTree

NEW_DIR_MODE = 0o755


@dataclass(frozen=True, slots=True)
class CopyJob:
    tree: SourceTree
    sources: list[Source]
    dest: str                               # absolute; a trailing "/" means "a directory"
    owner: tuple[int, int] | None = None    # --chown, resolved to ids
    chmod: int | None = None
    unpack_archives: bool = False           # ADD: a local tar is extracted, not copied


class Stager:
    def __init__(self, rootfs: Path, staging: Path, epoch: int) -> None:
        self.rootfs, self.staging, self.epoch = rootfs, staging, epoch
        self.owner = (0, 0)
        self.dir_times: dict[Path, int] = {}

    def ensure_dirs(self, parts: tuple[str, ...]) -> Path:
        """Stage every directory of ``parts``: the image's own ones as they are, new ones fresh."""
        for depth in range(1, len(parts) + 1):
            target = self.staging.joinpath(*parts[:depth])
            if target.is_dir():
                continue
            lower = self.rootfs.joinpath(*parts[:depth])
            try:
                st = os.lstat(lower)
            except FileNotFoundError:
                st = None
            if st is not None and not stat.S_ISDIR(st.st_mode):
                raise InvalidArgument(f"/{'/'.join(parts[:depth])} is not a directory in the image")
            target.mkdir()
            if st is not None:
                os.chmod(target, stat.S_IMODE(st.st_mode))
                _chown(target, st.st_uid, st.st_gid, host_ids=True)
                self.dir_times[target] = int(st.st_mtime)
            else:
                os.chmod(target, NEW_DIR_MODE)
                _chown(target, *self.owner)
                self.dir_times[target] = self.epoch
        return self.staging.joinpath(*parts)

    def finish(self) -> None:
        """Directory mtimes last: staging their children changed them."""
        for path, mtime in sorted(self.dir_times.items(), key=lambda item: -len(item[0].parts)):
            os.utime(path, (mtime, mtime), follow_symlinks=False)

    def place(self, source: Path, st: os.stat_result, target: Path, chmod: int | None) -> None:
        self._check_parents(target)
        mode = stat.S_IMODE(st.st_mode) if chmod is None else chmod
        if stat.S_ISDIR(st.st_mode):
            if target.is_symlink() or (os.path.lexists(target) and not target.is_dir()):
                target.unlink()
            if not target.is_dir():
                target.mkdir()
            os.chmod(target, mode)
            self.dir_times[target] = self.epoch
        elif stat.S_ISLNK(st.st_mode) or stat.S_ISREG(st.st_mode):
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif os.path.lexists(target):
                target.unlink()  # never write *through* what an earlier source staged here
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(source), target)
            else:
                shutil.copyfile(source, target)
                os.chmod(target, mode)
        else:
            return  # sockets, fifos and devices in a context are not image content
        _chown(target, *self.owner)
        if not stat.S_ISDIR(st.st_mode):
            os.utime(target, (self.epoch, self.epoch), follow_symlinks=False)

    def _check_parents(self, target: Path) -> None:
        """Every directory between the staging root and ``target`` must be a real one: a symlink
        staged by an earlier source (``lib -> /etc``) would otherwise lead writes to the host."""
        current = self.staging
        for part in target.relative_to(self.staging).parts[:-1]:
            current = current / part
            if not stat.S_ISDIR(os.lstat(current).st_mode):
                raise InvalidArgument(f"cannot copy {target.relative_to(self.staging)}: "
                                      f"/{current.relative_to(self.staging)} is not a directory "
                                      "(an earlier source put a file or symlink there)")


def _resolve(rootfs: Path, path: str) -> tuple[str, ...]:
    return resolve_parts(rootfs, path, follow_final=True)


def stage_copy(job: CopyJob, rootfs: Path, staging: Path, epoch: int) -> None:
    """Lay out what ``job`` copies under ``staging``, at its place in the image."""
    stager = Stager(rootfs, staging, epoch)
    stager.owner = job.owner or (0, 0)
    dest_parts = _resolve(rootfs, job.dest)
    lower = rootfs.joinpath(*dest_parts)
    single = len(job.sources) == 1
    if not single and not job.dest.endswith("/"):
        raise InvalidArgument("when copying more than one source, the destination must be a "
                              f"directory and end with a /: {job.dest}")
    source_is_dir = single and os.path.isdir(job.sources[0].path)
    to_dir = job.dest.endswith("/") or not single or source_is_dir or lower.is_dir()
    for source in job.sources:
        entries = list(job.tree.walk(source))
        root = entries[0]
        if stat.S_ISDIR(root.st.st_mode):
            directory = stager.ensure_dirs(dest_parts)
            for entry in entries[1:]:
                stager.place(entry.path, entry.st, directory / entry.rel, job.chmod)
        elif job.unpack_archives and _extract(root.path, stager, dest_parts):
            continue
        elif to_dir:
            stager.place(root.path, root.st, stager.ensure_dirs(dest_parts) / source.name, job.chmod)
        else:
            if not dest_parts:
                raise InvalidArgument(f"cannot copy a file onto /: {job.dest}")
            stager.ensure_dirs(dest_parts[:-1])
            stager.place(root.path, root.st, staging.joinpath(*dest_parts), job.chmod)
    stager.finish()


def stage_workdir(path: str, rootfs: Path, staging: Path, epoch: int,
                  owner: tuple[int, int] | None = None) -> bool:
    """Stage the directories WORKDIR needs; False when the image has them already (then the
    step is metadata only)."""
    parts = _resolve(rootfs, path)
    if rootfs.joinpath(*parts).is_dir():
        return False
    stager = Stager(rootfs, staging, epoch)
    stager.owner = owner or (0, 0)
    stager.ensure_dirs(parts)
    stager.finish()
    return True


_TAR_MAGIC = (b"ustar",)


def _opener(path: Path):  # type: ignore[no-untyped-def]
    """How to decompress ``path`` if it is a (compressed) tar archive, else None."""
    with open(path, "rb") as stream:
        head = stream.read(6)
    for magic, opener in ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open),
                          (b"", open)):
        if head.startswith(magic):
            try:
                with opener(path, "rb") as inner:
                    block = inner.read(512)
            except (OSError, EOFError, lzma.LZMAError):
                return None
            return opener if block[257:262] in _TAR_MAGIC else None
    return None


def _extract(archive: Path, stager: Stager, dest_parts: tuple[str, ...]) -> bool:
    """ADD of a local tar: extracted (safely, as a layer is) into the destination directory."""
    opener = _opener(archive)
    if opener is None:
        return False
    directory = stager.ensure_dirs(dest_parts)
    with tempfile.TemporaryDirectory(dir=stager.staging.parent) as scratch:
        # apply_layer reads gzip and plain tar itself; bzip2 and xz are unpacked to a plain tar first.
        plain = archive
        if opener in (bz2.open, lzma.open):
            plain = Path(scratch) / "archive.tar"
            with opener(archive, "rb") as inner, open(plain, "wb") as out:
                shutil.copyfileobj(inner, out, 1 << 20)
        with open(plain, "rb") as stream:
            apply_layer(stream, directory)
    return True


def _chown(target: Path, uid: int, gid: int, *, host_ids: bool = False) -> None:
    """Give ``target`` the owner the container sees as ``uid:gid`` (``host_ids``: already host
    ids, copied from the image's own files). A student's files are container root's; ids a
    student cannot give away stay the student's, which the layer then records as root."""
    if not host_ids:
        uid, gid = container_owners().to_host(uid, gid)
    try:
        os.lchown(target, uid, gid)
    except PermissionError:
        if os.geteuid() == 0:
            raise


def resolve_chown(spec: str, rootfs: Path) -> tuple[int, int]:
    """``--chown=user[:group]`` to ids, names looked up in the image's /etc/passwd and /etc/group.
    Docker's rule: without a group, the gid is the uid's number."""
    user, _, group = spec.partition(":")

    def lookup(name: str, table: str) -> int:
        if name.isdigit():
            return int(name)
        try:
            lines = rootfs.joinpath(*_resolve(rootfs, f"/etc/{table}")).read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
            lines = []
        for line in lines:
            fields = line.split(":")
            if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
                return int(fields[2])
        raise InvalidArgument(f"--chown={spec}: no {'user' if table == 'passwd' else 'group'} "
                              f"{name!r} in the image's /etc/{table}")

    if not user:
        raise InvalidArgument(f"--chown={spec}: give a user (name or uid), optionally :group")
    uid = lookup(user, "passwd")
    return uid, lookup(group, "group") if group else uid
