"""The merged view of overlay layers, read without mounting anything.

``changes_from_overlay_upper`` needs the lower view an upper dir sits on, to tell ADDED from
CHANGED and to list what an opaque directory hides. Mounting that view needs a mount namespace
(and, rootless, a user namespace) — too much for ``docker diff``. But only *names* are needed,
and only in the directories the upper dir holds, so this module applies overlayfs' lookup rules
itself and writes a skeleton: each merged entry as an empty file or a directory.

The rules, for one directory seen through layers top first: the first layer holding a name
decides it — a 0/0 character device means "deleted", a directory merges with the same
directory in the layers below until one of them is opaque or holds a non-directory there.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..diff.safepath import Dir
from ..diff.whiteout import has_opaque_xattr, is_overlay_whiteout


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def below(layers: list[Path], name: str) -> list[Path]:
    """The directories that merge into ``name`` inside directories ``layers`` (top first)."""
    merged = []
    for layer in layers:
        st = _lstat(layer / name)
        if st is None:
            continue
        if not stat.S_ISDIR(st.st_mode):
            break  # a file or a whiteout hides everything below it
        merged.append(layer / name)
        if has_opaque_xattr(layer / name):
            break
    return merged


def entries(layers: list[Path]) -> dict[str, bool]:
    """Merged entries of one directory: name -> is it a directory."""
    decided: set[str] = set()
    found: dict[str, bool] = {}
    for layer in layers:
        with os.scandir(layer) as it:
            for entry in it:
                if entry.name in decided:
                    continue
                decided.add(entry.name)
                st = entry.stat(follow_symlinks=False)
                if not is_overlay_whiteout(st):
                    found[entry.name] = stat.S_ISDIR(st.st_mode)
    return found


def lower_skeleton(upper: Path | Dir, layers: list[Path], dest: Path) -> None:
    """Mirror into ``dest`` the merged view of ``layers`` (top first) — the parts of it that lie
    under directories ``upper`` holds. ``upper`` may be a running container's upper dir, so it
    is walked by fds: a directory it swaps for a symlink is not entered."""
    if not isinstance(upper, Dir):
        with Dir.open(upper) as top:
            lower_skeleton(top, layers, dest)
        return
    merged = entries(layers)
    for name, is_dir in merged.items():
        if is_dir:
            os.mkdir(dest / name, 0o700)
        else:
            os.close(os.open(dest / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    subdirs = [name for name, st in upper.entries().items() if stat.S_ISDIR(st.st_mode)]
    for name in subdirs:
        if merged.get(name):
            sub = upper.child(name)
            if sub is not None:
                with sub:
                    lower_skeleton(sub, below(layers, name), dest / name)
