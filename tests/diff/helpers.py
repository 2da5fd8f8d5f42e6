"""Helpers for the layer tests: tars built by hand, tree listings, a jailed rootfs."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path


class TarBuilder:
    """A layer tar written entry by entry, hostile names included (tarfile does not check them)."""

    def __init__(self, fmt: int = tarfile.PAX_FORMAT) -> None:
        self.buffer = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buffer, mode="w", format=fmt)

    def add(self, name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", *, mode: int = 0o644,
            linkname: str = "", pax: dict[str, str] | None = None, mtime: int = 1_000_000,
            devmajor: int = 0, devminor: int = 0) -> TarBuilder:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime, info.linkname = kind, mode, mtime, linkname
        info.devmajor, info.devminor = devmajor, devminor
        info.pax_headers = dict(pax or {})
        if kind in (tarfile.REGTYPE, tarfile.AREGTYPE):
            info.size = len(data)
            self.tar.addfile(info, io.BytesIO(data))
        else:
            self.tar.addfile(info)
        return self

    def file(self, name: str, data: bytes = b"", **kw: object) -> TarBuilder:
        return self.add(name, tarfile.REGTYPE, data, **kw)  # type: ignore[arg-type]

    def dir(self, name: str, **kw: object) -> TarBuilder:
        return self.add(name, tarfile.DIRTYPE, mode=kw.pop("mode", 0o755), **kw)  # type: ignore[arg-type]

    def symlink(self, name: str, target: str, **kw: object) -> TarBuilder:
        return self.add(name, tarfile.SYMTYPE, linkname=target, mode=0o777, **kw)  # type: ignore[arg-type]

    def hardlink(self, name: str, target: str, **kw: object) -> TarBuilder:
        return self.add(name, tarfile.LNKTYPE, linkname=target, **kw)  # type: ignore[arg-type]

    def bytes(self) -> bytes:
        self.tar.close()
        return self.buffer.getvalue()

    def stream(self) -> io.BytesIO:
        return io.BytesIO(self.bytes())


def listing(root: Path, *, dir_mtimes: bool = True) -> dict[str, tuple[object, ...]]:
    """Everything a layer round trip must keep, per path: type, mode, size, target, content."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = os.lstat(path)
            rel = str(path.relative_to(root))
            kind = stat.S_IFMT(st.st_mode)
            extra: object = None
            if stat.S_ISREG(st.st_mode):
                extra = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(path)
            mtime = st.st_mtime_ns if dir_mtimes or not stat.S_ISDIR(st.st_mode) else None
            size = st.st_size if not stat.S_ISDIR(st.st_mode) else None
            out[rel] = (kind, stat.S_IMODE(st.st_mode), size, extra, mtime, st.st_rdev)
    return out


def whole_seconds(entries: dict[str, tuple[object, ...]]) -> dict[str, tuple[object, ...]]:
    """Tars carry whole seconds: compare mtimes at that precision."""
    return {k: v[:4] + (None if v[4] is None else int(v[4]) // 10**9,) + v[5:] for k, v in entries.items()}


@dataclass
class Jail:
    """``top/outer/host/rootfs``: what a layer may touch is rootfs; the rest must never change."""

    top: Path
    host: Path
    root: Path

    def snapshot(self) -> dict[str, tuple[object, ...]]:
        everything = listing(self.top)
        prefix = str(self.root.relative_to(self.top))
        return {k: v for k, v in everything.items()
                if k != prefix and not k.startswith(prefix + "/")}


def make_tree(root: Path) -> Path:
    """A small rootfs with every kind of entry a layer carries."""
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "busybox").write_bytes(b"\x7fELF fake busybox\n" * 100)
    os.chmod(root / "bin" / "busybox", 0o4755)
    (root / "bin" / "sh").symlink_to("busybox")
    (root / "lib").symlink_to("/usr/lib")
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "usr" / "lib" / "libc.so").write_bytes(b"libc")
    (root / "etc").mkdir()
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    os.link(root / "etc" / "passwd", root / "etc" / "passwd.hardlink")
    (root / "etc" / "empty").mkdir()
    (root / "proc").mkdir(mode=0o555)
    (root / "etc" / "readonly").mkdir()
    (root / "etc" / "readonly" / "inside").write_text("x")
    os.chmod(root / "etc" / "readonly", 0o555)
    os.mkfifo(root / "etc" / "fifo")
    os.setxattr(root / "etc" / "passwd", "user.lesson", b"\x00\xffbinary")
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.utime(Path(dirpath, name), ns=(1_500_000_000_123_456_789,) * 2, follow_symlinks=False)
    os.utime(root / "etc" / "passwd", (1_600_000_000, 1_600_000_000))
    return root
