"""What a container changed: A(dded) / C(hanged) / D(eleted) paths, as ``docker diff`` shows them.

Two ways to find them, one per snapshotter:

- :func:`changes_between` walks the read-only lower tree and the container's tree side by side
  and compares metadata (the "naive diff" docker and containerd use for copying snapshotters:
  type, mode, owner, size, mtime, link target, layer xattrs — not contents, which would mean
  reading every byte);
- :func:`changes_from_overlay_upper` reads an overlayfs upper dir, where the kernel already
  recorded the changes: deletions as 0/0 character devices, replaced directories as *opaque*.

A ``Change`` whose ``opaque`` flag is set is a directory whose lower contents are all hidden;
the layer writer turns it into a ``.wh..wh..opq`` marker.

>>> Change(ChangeKind.CHANGED, '/etc')
Change(kind=<ChangeKind.CHANGED: 'C'>, path='/etc', opaque=False)
>>> str(Change(ChangeKind.DELETED, '/tmp/x'))
'D /tmp/x'
"""

from __future__ import annotations

import enum
import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

from .whiteout import OPAQUE_MARKER, WHITEOUT_PREFIX, has_opaque_xattr, is_overlay_whiteout


class ChangeKind(enum.Enum):
    ADDED = "A"
    CHANGED = "C"
    DELETED = "D"


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    path: str  # absolute posix path inside the rootfs, e.g. '/etc/passwd'
    #: A directory whose lower contents are hidden (overlayfs "opaque"), not merely changed.
    opaque: bool = False

    def __str__(self) -> str:  # the `docker diff` line
        return f"{self.kind.value} {self.path}"


#: xattrs that belong to a file's content in a layer: capabilities (``setcap``) and the
#: user namespace. Not ``security.selinux`` (the host's label) nor ``*.overlay.*`` (overlayfs's
#: own bookkeeping, which must never travel in a layer).
def is_layer_xattr(name: str) -> bool:
    """
    >>> [is_layer_xattr(n) for n in ('security.capability', 'user.mime', 'user.overlay.opaque')]
    [True, True, False]
    """
    if name.startswith(("user.overlay.", "trusted.overlay.")):
        return False
    return name == "security.capability" or name.startswith("user.")


def layer_xattrs(path: Path | str) -> dict[str, bytes]:
    """The layer-worthy xattrs of ``path`` (not following a final symlink), sorted by name."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:  # ENOTSUP on filesystems without xattrs, EPERM on symlinks for user.*
        return {}
    found: dict[str, bytes] = {}
    for name in sorted(n for n in names if is_layer_xattr(n)):
        try:
            found[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
    return found


def _entries(directory: Path) -> dict[str, os.stat_result]:
    """name -> lstat of each entry, or {} when ``directory`` is missing or not a directory."""
    try:
        with os.scandir(directory) as it:
            return {e.name: e.stat(follow_symlinks=False) for e in it}
    except (FileNotFoundError, NotADirectoryError):
        return {}


def _differs(lower: Path, lst: os.stat_result, upper: Path, ust: os.stat_result) -> bool:
    if stat.S_IFMT(lst.st_mode) != stat.S_IFMT(ust.st_mode):
        return True
    if (lst.st_mode, lst.st_uid, lst.st_gid) != (ust.st_mode, ust.st_uid, ust.st_gid):
        return True
    if stat.S_ISDIR(ust.st_mode):
        return False  # a directory's size/mtime follow its entries; those are compared one by one
    if (lst.st_size, lst.st_mtime_ns) != (ust.st_size, ust.st_mtime_ns):
        return True
    if stat.S_ISLNK(ust.st_mode):
        return os.readlink(lower) != os.readlink(upper)
    if stat.S_ISCHR(ust.st_mode) or stat.S_ISBLK(ust.st_mode):
        return lst.st_rdev != ust.st_rdev
    return layer_xattrs(lower) != layer_xattrs(upper)


def _all_added(upper: Path, path: str, out: list[Change]) -> None:
    for name, st in sorted(_entries(upper).items()):
        child = posixpath.join(path, name)
        out.append(Change(ChangeKind.ADDED, child))
        if stat.S_ISDIR(st.st_mode):
            _all_added(upper / name, child, out)


def _walk_pair(lower: Path, upper: Path, path: str, out: list[Change]) -> None:
    below, above = _entries(lower), _entries(upper)
    for name in sorted(below.keys() - above.keys()):
        out.append(Change(ChangeKind.DELETED, posixpath.join(path, name)))  # subtree implied
    for name in sorted(above):
        child, ust = posixpath.join(path, name), above[name]
        lst = below.get(name)
        if lst is None:
            out.append(Change(ChangeKind.ADDED, child))
            if stat.S_ISDIR(ust.st_mode):
                _all_added(upper / name, child, out)
            continue
        if _differs(lower / name, lst, upper / name, ust):
            out.append(Change(ChangeKind.CHANGED, child))
        if stat.S_ISDIR(ust.st_mode):
            if stat.S_ISDIR(lst.st_mode):
                _walk_pair(lower / name, upper / name, child, out)
            else:
                _all_added(upper / name, child, out)


def _with_parents(changes: list[Change]) -> list[Change]:
    """Mark every ancestor of a change CHANGED, as ``docker diff`` does ('C /etc' for /etc/x)."""
    seen = {c.path for c in changes}
    extra: list[Change] = []
    for change in changes:
        parent = posixpath.dirname(change.path)
        while parent != "/" and parent not in seen:
            seen.add(parent)
            extra.append(Change(ChangeKind.CHANGED, parent))
            parent = posixpath.dirname(parent)
    return sorted(changes + extra, key=lambda c: c.path.split("/"))


def changes_between(lower: Path | None, upper: Path) -> list[Change]:
    """Changes that turn tree ``lower`` (None: empty) into tree ``upper``, parents before children.

    Deleted directories are reported once (their contents go with them); a directory is
    CHANGED when its own metadata or anything beneath it changed.
    """
    out: list[Change] = []
    if lower is None:
        _all_added(Path(upper), "/", out)
    else:
        _walk_pair(Path(lower), Path(upper), "/", out)
    return _with_parents(out)


def _is_opaque_dir(path: Path) -> bool:
    return has_opaque_xattr(path) or os.path.lexists(path / OPAQUE_MARKER)  # fuse-overlayfs marks it with a file instead


def _walk_upper(upper: Path, lower: Path | None, path: str, out: list[Change]) -> None:
    for name, st in sorted(_entries(upper).items()):
        if name == OPAQUE_MARKER:
            continue
        if name.startswith(WHITEOUT_PREFIX) and stat.S_ISREG(st.st_mode):  # fuse-overlayfs form
            out.append(Change(ChangeKind.DELETED, posixpath.join(path, name[len(WHITEOUT_PREFIX):])))
            continue
        child = posixpath.join(path, name)
        if is_overlay_whiteout(st):
            out.append(Change(ChangeKind.DELETED, child))
            continue
        below = None if lower is None else lower / name
        in_lower = below is not None and os.path.lexists(below)
        if stat.S_ISDIR(st.st_mode) and _is_opaque_dir(upper / name):
            out.append(Change(ChangeKind.ADDED if lower is not None and not in_lower
                              else ChangeKind.CHANGED, child, opaque=True))
            hidden = _entries(below) if below is not None else {}
            for gone in sorted(hidden.keys() - _entries(upper / name).keys()):
                out.append(Change(ChangeKind.DELETED, posixpath.join(child, gone)))
        else:
            out.append(Change(ChangeKind.CHANGED if in_lower else ChangeKind.ADDED, child))
        if stat.S_ISDIR(st.st_mode):
            _walk_upper(upper / name, below, child, out)


def changes_from_overlay_upper(upper: Path, lower: Path | None = None) -> list[Change]:
    """Changes recorded in an overlayfs upper dir, parents before children.

    ``lower`` is the merged view of the layers below (optional): with it, entries are told
    apart as ADDED or CHANGED, and an opaque directory also lists the lower entries it hides
    as DELETED (for display; the writer's opaque marker already covers them). Without it,
    everything present is ADDED and opaque directories are CHANGED.
    """
    out: list[Change] = []
    _walk_upper(Path(upper), None if lower is None else Path(lower), "/", out)
    return sorted(out, key=lambda c: c.path.split("/"))
