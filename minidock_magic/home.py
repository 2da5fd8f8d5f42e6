"""Where a Minidock keeps everything, and the settings that choose how."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import Denied

COMPRESSIONS = ("gzip", "none", "zstd")


def default_home() -> Path:
    """``$MINIDOCK_HOME``, else the user's data directory: ``$XDG_DATA_HOME/minidock`` (an absolute
    one; the XDG spec ignores relative paths) or ``~/.local/share/minidock``. On a JupyterHub each
    student's kernel has its own ``$HOME``, so each gets its own store — never a shared one: a
    default that exists but belongs to someone else (a hub that set ``$XDG_DATA_HOME`` for all)
    is refused rather than shared."""
    env = os.environ.get("MINIDOCK_HOME")
    if env:
        return Path(env)
    import platformdirs  # only here: a home given by --home or $MINIDOCK_HOME does not need it

    return refuse_others(Path(platformdirs.user_data_dir("minidock")))


def refuse_others(home: Path) -> Path:
    """``home`` unless it exists and another user owns it (Denied: images, containers and logins
    in one store would be readable and writable by whoever shares it)."""
    try:
        owner = home.stat().st_uid
    except FileNotFoundError:
        return home
    if owner != os.geteuid():
        raise Denied(f"the default store {home} belongs to uid {owner}, not you: a store is one user's "
                     "alone; set MINIDOCK_HOME (or XDG_DATA_HOME) to a directory of your own")
    return home


@dataclass(frozen=True, slots=True)
class Layout:
    """The directories under one home. ``oci/`` is a complete OCI image layout."""

    home: Path

    @property
    def oci(self) -> Path:
        return self.home / "oci"

    @property
    def tmp(self) -> Path:
        # Same filesystem as the blobs, so a finished temp file is renamed into place atomically.
        return self.home / "tmp"

    @property
    def locks(self) -> Path:
        return self.home / "locks"

    @property
    def snapshots(self) -> Path:
        return self.home / "snapshots"

    @property
    def containers(self) -> Path:
        return self.home / "containers"
