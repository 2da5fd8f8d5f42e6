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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .safepath import Dir
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


def layer_xattrs(target: Path | str | int) -> dict[str, bytes]:
    """The layer-worthy xattrs of ``target`` — an open fd, or a path whose final symlink is
    not followed — sorted by name."""
    follow: dict[str, bool] = {} if isinstance(target, int) else {"follow_symlinks": False}
    try:
        names = os.listxattr(target, **follow)
    except OSError:  # ENOTSUP on filesystems without xattrs, EPERM on symlinks for user.*
        return {}
    found: dict[str, bytes] = {}
    for name in sorted(n for n in names if is_layer_xattr(n)):
        try:
            found[name] = os.getxattr(target, name, **follow)
        except OSError:
            continue
    return found


# The trees below are walked by directory fds (:class:`.safepath.Dir`), never by path: a
# running container can turn any directory of its tree into a symlink to the host meanwhile.

def _differs(lower: Dir, lst: os.stat_result, upper: Dir, ust: os.stat_result, name: str) -> bool:
    if stat.S_IFMT(lst.st_mode) != stat.S_IFMT(ust.st_mode):
        return True
    if (lst.st_mode, lst.st_uid, lst.st_gid) != (ust.st_mode, ust.st_uid, ust.st_gid):
        return True
    if stat.S_ISDIR(ust.st_mode):
        return False  # a directory's size/mtime follow its entries; those are compared one by one
    if (lst.st_size, lst.st_mtime_ns) != (ust.st_size, ust.st_mtime_ns):
        return True
    if stat.S_ISLNK(ust.st_mode):
        try:
            return lower.readlink(name) != upper.readlink(name)
        except OSError:  # changed under us: it differs
            return True
    if stat.S_ISCHR(ust.st_mode) or stat.S_ISBLK(ust.st_mode):
        return lst.st_rdev != ust.st_rdev
    return layer_xattrs(lower.at(name)) != layer_xattrs(upper.at(name))


def _all_added(upper: Dir, path: str, out: list[Change]) -> None:
    for name, st in sorted(upper.entries().items()):
        child = posixpath.join(path, name)
        out.append(Change(ChangeKind.ADDED, child))
        if stat.S_ISDIR(st.st_mode):
            _descend(upper, name, lambda sub, child=child: _all_added(sub, child, out))


def _descend(parent: Dir, name: str, walk: Callable[[Dir], None]) -> None:
    """``walk`` the subdirectory ``name`` if it is still a real directory (else: nothing)."""
    sub = parent.child(name)
    if sub is not None:
        with sub:
            walk(sub)


def _walk_pair(lower: Dir, upper: Dir, path: str, out: list[Change]) -> None:
    below, above = lower.entries(), upper.entries()
    for name in sorted(below.keys() - above.keys()):
        out.append(Change(ChangeKind.DELETED, posixpath.join(path, name)))  # subtree implied
    for name in sorted(above):
        child, ust = posixpath.join(path, name), above[name]
        lst = below.get(name)
        if lst is None:
            out.append(Change(ChangeKind.ADDED, child))
            if stat.S_ISDIR(ust.st_mode):
                _descend(upper, name, lambda sub, child=child: _all_added(sub, child, out))
            continue
        if _differs(lower, lst, upper, ust, name):
            out.append(Change(ChangeKind.CHANGED, child))
        if not stat.S_ISDIR(ust.st_mode):
            continue
        low = lower.child(name) if stat.S_ISDIR(lst.st_mode) else None
        if low is None:
            _descend(upper, name, lambda sub, child=child: _all_added(sub, child, out))
            continue
        with low:
            _descend(upper, name, lambda sub, child=child, low=low: _walk_pair(low, sub, child, out))


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
    with Dir.open(upper) as top:
        if lower is None:
            _all_added(top, "/", out)
        else:
            with Dir.open(lower) as bottom:
                _walk_pair(bottom, top, "/", out)
    return _with_parents(out)


def _is_opaque_dir(parent: Dir, name: str, directory: Dir) -> bool:
    # fuse-overlayfs marks an opaque directory with a file instead of an xattr
    return has_opaque_xattr(parent.at(name)) or directory.lstat(OPAQUE_MARKER) is not None


def _entries(directory: Path) -> dict[str, os.stat_result]:
    """name -> lstat of each entry of the lower skeleton (ours), or {} if it has no such dir."""
    try:
        with os.scandir(directory) as it:
            return {e.name: e.stat(follow_symlinks=False) for e in it}
    except (FileNotFoundError, NotADirectoryError):
        return {}


def _walk_upper(upper: Dir, lower: Path | None, path: str, out: list[Change]) -> None:
    for name, st in sorted(upper.entries().items()):
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
        sub = upper.child(name) if stat.S_ISDIR(st.st_mode) else None
        if sub is None:
            out.append(Change(ChangeKind.CHANGED if in_lower else ChangeKind.ADDED, child))
            continue
        with sub:
            if _is_opaque_dir(upper, name, sub):
                out.append(Change(ChangeKind.ADDED if lower is not None and not in_lower
                                  else ChangeKind.CHANGED, child, opaque=True))
                hidden = _entries(below) if below is not None else {}
                for gone in sorted(hidden.keys() - sub.entries().keys()):
                    out.append(Change(ChangeKind.DELETED, posixpath.join(child, gone)))
            else:
                out.append(Change(ChangeKind.CHANGED if in_lower else ChangeKind.ADDED, child))
            _walk_upper(sub, below, child, out)


def changes_from_overlay_upper(upper: Path, lower: Path | None = None) -> list[Change]:
    """Changes recorded in an overlayfs upper dir, parents before children.

    ``lower`` is the merged view of the layers below (optional): with it, entries are told
    apart as ADDED or CHANGED, and an opaque directory also lists the lower entries it hides
    as DELETED (for display; the writer's opaque marker already covers them). Without it,
    everything present is ADDED and opaque directories are CHANGED.
    """
    out: list[Change] = []
    with Dir.open(upper) as top:
        _walk_upper(top, None if lower is None else Path(lower), "/", out)
    return sorted(out, key=lambda c: c.path.split("/"))
