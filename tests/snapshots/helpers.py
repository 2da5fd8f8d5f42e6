"""Helpers for the snapshotter suite: images built from hand-made layers, and seeing or changing
a snapshot the way a container does (overlay snapshots are mounted in a private namespace)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from minidock_magic.content.store import ContentStore
from minidock_magic.images.image import Image, load_image
from minidock_magic.images.writer import store_image
from minidock_magic.oci import mediatypes as mt
from minidock_magic.oci.config import History, ImageConfig
from minidock_magic.oci.descriptor import Descriptor
from minidock_magic.oci.digest import Digest
from minidock_magic.runtime.rootfs import overlay_options
from minidock_magic.snapshots.base import Snapshotter
from minidock_magic.snapshots.overlay import OverlaySnapshotter
from tests.diff.helpers import TarBuilder

PACKAGE_ROOT = Path(__file__).resolve().parents[2]


def make_image(content: ContentStore, layers: list[bytes]) -> Image:
    """An image whose layers are these (uncompressed) tars, as any registry could serve it."""
    descriptors, diff_ids = [], []
    for data in layers:
        info = content.put_bytes(data)
        descriptors.append(Descriptor(mt.OCI_LAYER, info.digest, info.size))
        diff_ids.append(Digest.of(data))
    config = ImageConfig.create(
        diff_ids=diff_ids, history=[History(created_by=f"layer {i}") for i in range(len(layers))],
        run={"Env": ["PATH=/bin"]}, created="2024-01-01T00:00:00Z")
    return load_image(content, store_image(content, config, descriptors))


def base_layer() -> bytes:
    """A base layer: files to delete, a directory to make opaque, a hardlink, a symlink."""
    return (TarBuilder().dir("etc").file("etc/motd", b"hello\n").file("etc/passwd", b"root\n")
            .dir("etc/cache").file("etc/cache/a", b"a").file("etc/cache/b", b"b")
            .dir("etc/gone").file("etc/gone/x", b"x")
            .dir("bin").file("bin/tool", b"tool", mode=0o755).hardlink("bin/alias", "bin/tool")
            .symlink("bin/link", "tool").dir("ro", mode=0o555).file("ro/kept", b"k")
            .bytes())


def top_layer() -> bytes:
    """On top of :func:`base_layer`: a whiteout, a whole-dir whiteout, an opaque dir, a change."""
    return (TarBuilder().dir("etc").file("etc/.wh.motd").file("etc/.wh.gone")
            .dir("etc/cache").file("etc/cache/.wh..wh..opq").file("etc/cache/c", b"c")
            .file("etc/passwd", b"root\nstudent\n").file("ro/new", b"n").bytes())


#: The merged view of base_layer + top_layer (path -> kind, content or link target).
MERGED = {
    "bin": ("d", None), "bin/alias": ("f", "tool"), "bin/link": ("l", "tool"),
    "bin/tool": ("f", "tool"), "etc": ("d", None), "etc/cache": ("d", None),
    "etc/cache/c": ("f", "c"), "etc/passwd": ("f", "root\nstudent\n"), "ro": ("d", None),
    "ro/kept": ("f", "k"), "ro/new": ("f", "n"),
}


def listing(root: str | Path) -> dict[str, list[object]]:
    """path -> [kind, text content or link target, mode, inode] of everything under ``root``."""
    out: dict[str, list[object]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISDIR(st.st_mode):
                entry: list[object] = ["d", None]
            elif stat.S_ISLNK(st.st_mode):
                entry = ["l", os.readlink(path)]
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    entry = ["f", f.read().decode(errors="replace")]
            else:
                entry = ["c" if stat.S_ISCHR(st.st_mode) else "?", st.st_rdev]
            out[rel] = entry + [stat.S_IMODE(st.st_mode), st.st_ino]
    return out


def _in_view(snapshotter: Snapshotter, key: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in the directory where ``key`` is seen whole: the copy's tree as it is, or
    the overlay mounted in a private mount namespace (a user namespace too, when rootless)."""
    mounts = snapshotter.mounts(key)
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    if mounts.overlay is None:  # unprivileged, as root of a user namespace like a container
        return subprocess.run((["unshare", "-r"] if os.geteuid() else []) + argv,
                              cwd=mounts.rootfs, env=env, capture_output=True, text=True, check=False)
    rootless = isinstance(snapshotter, OverlaySnapshotter) and snapshotter.rootless
    options = overlay_options(mounts.overlay, userxattr=rootless)
    script = 'mount -t overlay overlay -o "$1" "$2" && cd "$2" && shift 2 && exec "$@"'
    return subprocess.run(["unshare", "-m", *(["-r"] if rootless else []), "sh", "-c", script,
                           "sh", options, str(mounts.rootfs), *argv],
                          env=env, capture_output=True, text=True, check=False)


def view(snapshotter: Snapshotter, key: str) -> dict[str, list[object]]:
    """What a container on active snapshot ``key`` sees, as :func:`listing` gives it."""
    code = "import json; from tests.snapshots.helpers import listing; print(json.dumps(listing('.')))"
    done = _in_view(snapshotter, key, [sys.executable, "-c", code])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def shell(snapshotter: Snapshotter, key: str, script: str) -> None:
    """Change active snapshot ``key`` the way a process in its rootfs would."""
    done = _in_view(snapshotter, key, ["sh", "-ec", script])
    assert done.returncode == 0, done.stderr


def kinds(entries: dict[str, list[object]]) -> dict[str, tuple[object, object]]:
    return {path: (entry[0], entry[1]) for path, entry in entries.items()}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
