"""Whiteouts: how a layer tar says "this path from the layers below is gone" (image-spec layer.md).

A tar can only add files, so deletions are spelled as marker entries that an applier never writes:

- ``a/.wh.b`` deletes ``a/b`` (file or whole directory) from the *lower* layers;
- ``a/.wh..wh..opq`` makes ``a`` *opaque*: every lower entry under ``a`` is hidden, while what this
  same layer puts in ``a`` stays;
- any other ``.wh..wh.`` name is reserved (aufs used ``.wh..wh.plnk``); appliers ignore it.

Paths here are tar member names or absolute rootfs paths; leading ``/`` and ``./`` are dropped.

overlayfs spells the same two things on disk, in a layer's own directory: a deletion is a 0/0
character device (:func:`is_overlay_whiteout`), an opaque directory carries an xattr
(:data:`OPAQUE_XATTRS`, :func:`opaque_xattrs_for`, :func:`has_opaque_xattr`). Both spellings live
here, so every reader and writer of layers agrees on them.

>>> whiteout_name('/etc/motd')
'etc/.wh.motd'
>>> whiteout_target('etc/.wh.motd')
'etc/motd'
>>> opaque_marker('/var/cache')
'var/cache/.wh..wh..opq'
>>> is_opaque('var/cache/.wh..wh..opq'), whiteout_target('var/cache/.wh..wh..opq')
(True, None)
"""

from __future__ import annotations

import os
import posixpath
import stat

# from safepath, not members: whiteout names are on every container start (overlay snapshots),
# and members imports tarfile and decimal, which a start never needs.
from .safepath import member_name

WHITEOUT_PREFIX = ".wh."
#: Names starting with this are reserved for the layer format's own metadata.
WHITEOUT_META_PREFIX = WHITEOUT_PREFIX + WHITEOUT_PREFIX
OPAQUE_MARKER = WHITEOUT_META_PREFIX + ".opq"

#: How overlayfs marks an opaque directory on disk: ``trusted.`` when mounted normally, ``user.``
#: when mounted with ``userxattr`` (rootless). Readers accept either.
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


def opaque_xattrs_for(*, rootless: bool) -> tuple[str, ...]:
    """The opaque xattrs a layer meant for overlayfs gets. Only root may write ``trusted.*``; root
    writes both, so its layers serve either kind of mount, whichever isolation a container gets.

    >>> opaque_xattrs_for(rootless=True), opaque_xattrs_for(rootless=False)
    (('user.overlay.opaque',), ('trusted.overlay.opaque', 'user.overlay.opaque'))
    """
    return OPAQUE_XATTRS[1:] if rootless else OPAQUE_XATTRS


def is_overlay_whiteout(st: os.stat_result) -> bool:
    """Whether an entry of an overlayfs layer directory is a deletion (a 0/0 character device)."""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def has_opaque_xattr(path: str | os.PathLike[str]) -> bool:
    """Whether overlayfs reads the directory at ``path`` as opaque (either xattr, never followed)."""
    for name in OPAQUE_XATTRS:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:  # ENODATA, or EPERM reading trusted.* without CAP_SYS_ADMIN
            continue
    return False


def whiteout_name(path: str) -> str:
    """The tar member that deletes ``path``.

    >>> whiteout_name('/a/b'), whiteout_name('b'), whiteout_name('./a/b/')
    ('a/.wh.b', '.wh.b', 'a/.wh.b')
    """
    parent, base = posixpath.split(member_name(path))
    if not base:
        raise ValueError("the root directory cannot be whited out")
    return posixpath.join(parent, WHITEOUT_PREFIX + base)


def opaque_marker(directory: str) -> str:
    """The tar member that makes ``directory`` opaque (``'/'`` gives the root's marker).

    >>> opaque_marker('/'), opaque_marker('a/b')
    ('.wh..wh..opq', 'a/b/.wh..wh..opq')
    """
    return posixpath.join(member_name(directory), OPAQUE_MARKER)


def is_whiteout(member_path: str) -> bool:
    """Any entry in the whiteout namespace (deletion, opaque marker or reserved name).

    >>> is_whiteout('a/.wh.b'), is_whiteout('a/.wh..wh..opq'), is_whiteout('a/b.wh.c')
    (True, True, False)
    """
    return posixpath.basename(member_name(member_path)).startswith(WHITEOUT_PREFIX)


def is_opaque(member_path: str) -> bool:
    """Whether ``member_path`` is an opaque-directory marker.

    >>> is_opaque('.wh..wh..opq'), is_opaque('./a/.wh..wh..opq'), is_opaque('a/.wh.opq')
    (True, True, False)
    """
    return posixpath.basename(member_name(member_path)) == OPAQUE_MARKER


def whiteout_target(member_path: str) -> str | None:
    """The path a whiteout deletes, or None for non-whiteouts, opaque markers and reserved names.

    A target of ``.`` or ``..`` (members ``.wh..`` / ``.wh...``) is returned as-is so the
    caller can refuse it: it would delete the parent directory, not an entry in it.

    >>> whiteout_target('a/.wh.b'), whiteout_target('/.wh.b'), whiteout_target('a/b')
    ('a/b', 'b', None)
    >>> whiteout_target('a/.wh..wh.plnk') is None
    True
    >>> whiteout_target('a/.wh...')
    'a/..'
    """
    parent, base = posixpath.split(member_name(member_path))
    if not base.startswith(WHITEOUT_PREFIX) or base.startswith(WHITEOUT_META_PREFIX):
        return None
    return posixpath.join(parent, base[len(WHITEOUT_PREFIX):])
