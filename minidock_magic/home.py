"""Where a Minidock keeps everything, and the settings that choose how."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

COMPRESSIONS = ("gzip", "none", "zstd")


def default_home() -> Path:
    env = os.environ.get("MINIDOCK_HOME")
    if env:
        return Path(env)
    import platformdirs  # only here: a home given by --home or $MINIDOCK_HOME does not need it

    return Path(platformdirs.user_data_dir("minidock"))


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
