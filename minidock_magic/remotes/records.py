"""Where each blob is known to live remotely, so a push can ask for a cross-repository mount.

``<home>/remotes.json`` maps a digest to the ``host/repository`` places it was pulled from or
pushed to. Pushing ``me/app`` to a registry that already holds a layer in ``me/base`` then costs
one ``POST ?mount=…&from=me/base`` instead of sending the bytes again — the registry links the
blob it has. The record is only a hint: a wrong entry costs one refused mount, nothing more.
So it is written without fsyncs (``durable=False``): a power cut may lose or empty it, which
costs the mounts it named (the blobs go up instead) and nothing else, as an unreadable file reads
as no record. Two fsyncs less at the end of every pull and push (~5 ms on this host's disk).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ..content.atomic import atomic_write_bytes, locked
from ..oci.digest import Digest

#: Newest places kept per blob; mounting needs one that works, not a history.
KEEP = 8


class BlobSources:
    def __init__(self, path: Path, lock_path: Path) -> None:
        self.path = Path(path)
        self._lock_path = lock_path

    def _read(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_bytes())
        except (FileNotFoundError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: [p for p in v if isinstance(p, str)] for k, v in data.items() if isinstance(v, list)}

    def places(self, digest: Digest) -> list[str]:
        """``host/repo`` entries for ``digest``, newest first."""
        return list(self._read().get(str(digest), []))

    def mount_sources(self, digest: Digest, host: str, repo: str) -> list[str]:
        """Other repositories on ``host`` that hold ``digest``: candidates for ``?from=``."""
        prefix = f"{host}/"
        return [p[len(prefix):] for p in self.places(digest)
                if p.startswith(prefix) and p[len(prefix):] != repo]

    def add(self, digests: Iterable[Digest], host: str, repo: str) -> None:
        place = f"{host}/{repo}"
        wanted = [str(d) for d in digests]
        if not wanted:
            return
        with locked(self._lock_path):
            data = self._read()
            for digest in wanted:
                places = [place, *(p for p in data.get(digest, []) if p != place)]
                data[digest] = places[:KEEP]
            atomic_write_bytes(self.path, json.dumps(data, indent=1, sort_keys=True).encode() + b"\n",
                               durable=False)
