"""Resolve a container path inside its rootfs the way the container will see it (chroot-style).

Before ``pivot_root`` the engine still sees the host, so a rootfs whose ``/proc`` is a symlink
to ``/tmp/evil`` would make a naive ``mount(..., ROOTFS + "/proc")`` mount over the *host's*
``/tmp/evil``. Here every symlink met on the way is followed relative to the rootfs and ``..``
never climbs above it, so the result is always a path under the rootfs with no symlink in it
(except perhaps the last component when ``follow_final`` is false). Nothing in the container runs
while the engine resolves and mounts, so there is no race to win.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..diff.safepath import resolve_parts
from ..errors import InvalidArgument, Unavailable


def resolve_in_root(root: Path, path: str, *, follow_final: bool = True) -> Path:
    """The host path under ``root`` that ``path`` names inside a container rooted at ``root``
    (``diff.safepath``'s chroot-style walk: one rule for layers, mounts and copies).

    Missing components are kept as they are (they cannot be symlinks).

    >>> import tempfile; r = Path(tempfile.mkdtemp())
    >>> (r / "etc").mkdir(); (r / "proc").symlink_to("/tmp/evil")
    >>> (r / "up").symlink_to("../../../etc")
    >>> [str(resolve_in_root(r, p).relative_to(r)) for p in ("/proc", "/up/hosts", "/../../x")]
    ['tmp/evil', 'etc/hosts', 'x']
    >>> str(resolve_in_root(r, "/proc", follow_final=False).relative_to(r))
    'proc'
    """
    return root.joinpath(*resolve_parts(root, path, follow_final=follow_final))


def ensure_dir_in_root(root: Path, path: str) -> Path:
    """``path`` resolved under ``root``, created (with parents) if missing; must be a directory."""
    target = resolve_in_root(root, path)
    try:
        target.mkdir(mode=0o755, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InvalidArgument(f"{path} in the rootfs is not a directory") from None
    except OSError as exc:  # e.g. a read-only root that lacks a mount point
        raise Unavailable(f"cannot create {path} in the rootfs: {exc.strerror}") from None
    return target


def ensure_file_in_root(root: Path, path: str, *, _retry: bool = True) -> Path:
    """``path`` resolved under ``root``, created empty if missing; must not be a directory.

    Used for bind-mount targets such as ``/etc/hosts``; like docker, an image without the file
    gets an empty one in its writable layer.
    """
    target = resolve_in_root(root, path)
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISDIR(mode):
            raise InvalidArgument(f"{path} in the rootfs is a directory, not a file")
        return target
    try:
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        # O_NOFOLLOW|O_EXCL: never create through a symlink, whatever appeared meanwhile.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644)
    except FileExistsError:
        if _retry:  # another container on the same rootfs made it just now: use theirs
            return ensure_file_in_root(root, path, _retry=False)
        raise Unavailable(f"cannot create {path} in the rootfs: it keeps changing") from None
    except OSError as exc:
        raise Unavailable(f"cannot create {path} in the rootfs: {exc.strerror}") from None
    os.close(fd)
    return target
