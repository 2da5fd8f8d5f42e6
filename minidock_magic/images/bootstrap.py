"""A first image with no network: busybox made from the host's static binary.

The same binary gives the same digest on every machine and for every user: the tree is built from
the binary's bytes and its own applet list, every timestamp is one fixed epoch, every file is
root's, and the layer writer is deterministic.
Where busybox is absent, the host's ``/bin/sh`` and the libraries it links are used instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..content.store import ContentStore
from ..diff.owners import OwnerMap
from ..errors import Unavailable
from ..hostbin import static_busybox as find_busybox
from ..oci.config import History, ImageConfig, rfc3339
from ..oci.descriptor import Descriptor
from .writer import DEFAULT_PATH, layer_descriptor, store_image, store_tree_layer

#: Fixed so that two machines with the same busybox binary make the same image.
BOOTSTRAP_EPOCH = 0
PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/home:/bin/false\n")
GROUP = "root:x:0:\nnobody:x:65534:\n"
DIRS = {"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o755, "root": 0o700,
        "sys": 0o755, "tmp": 0o1777, "usr": 0o755, "var": 0o755}


def _skeleton(root: Path) -> None:
    for name, mode in DIRS.items():
        (root / name).mkdir(exist_ok=True)
        os.chmod(root / name, mode)
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/group").write_text(GROUP)
    for name in ("etc/passwd", "etc/group"):
        os.chmod(root / name, 0o644)


def busybox_tree(root: Path, busybox: Path) -> str:
    """Lay out a busybox rootfs in ``root``; returns the binary's version line."""
    _skeleton(root)
    shutil.copyfile(busybox, root / "bin/busybox")
    os.chmod(root / "bin/busybox", 0o755)
    listing = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True)
    for applet in sorted(set(listing.stdout.split())):
        if applet != "busybox" and "/" not in applet:
            os.symlink("busybox", root / "bin" / applet)
    version = subprocess.run([str(busybox)], capture_output=True, text=True).stdout
    return version.splitlines()[0].strip() if version else "busybox"


def host_shell_tree(root: Path) -> str:
    """Fallback: the host's /bin/sh and the shared libraries ``ldd`` says it needs."""
    _skeleton(root)
    shell = Path(os.path.realpath("/bin/sh"))
    needed = [shell]
    ldd = subprocess.run(["ldd", str(shell)], capture_output=True, text=True)
    for line in ldd.stdout.splitlines():
        path = line.split("=>")[-1].split("(")[0].strip()
        if path.startswith("/"):
            needed.append(Path(path))
    for source in needed:
        target = root / str(source).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        os.utime(target, (BOOTSTRAP_EPOCH, BOOTSTRAP_EPOCH))
    if shell.name != "sh":
        os.symlink(shell.name, root / str(shell.parent).lstrip("/") / "sh")
    if not (root / "bin/sh").exists():
        os.symlink(str(shell), root / "bin/sh")
    return f"host shell {shell}"


def bootstrap_image(content: ContentStore, tmp_dir: Path, *, compression: str = "gzip") -> Descriptor:
    """Build the image and store its blobs; returns the manifest descriptor."""
    busybox = find_busybox()
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="bootstrap-") as tree:
        root = Path(tree)
        if busybox is not None:
            source = busybox_tree(root, busybox)
        elif Path("/bin/sh").exists():
            source = host_shell_tree(root)
        else:
            raise Unavailable("no /bin/busybox and no /bin/sh on this host: install busybox-static")
        # 0:0 whoever builds it: a student's bootstrap is byte for byte root's (and the lessons').
        layer = store_tree_layer(content, root, compression=compression, epoch=BOOTSTRAP_EPOCH,
                                 owners=OwnerMap.everything_root())
    created = rfc3339(BOOTSTRAP_EPOCH)
    config = ImageConfig.create(
        diff_ids=[layer.diff_id],
        history=[History(created=created, created_by=f"minidock bootstrap: {source}",
                         comment="made from the host's files, no network")],
        run={"Env": [f"PATH={DEFAULT_PATH}"], "Cmd": ["sh"]},
        created=created)
    return store_image(content, config, [layer_descriptor(layer)])
