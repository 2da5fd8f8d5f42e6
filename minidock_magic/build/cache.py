"""The build cache: "this step on this parent gave that image", one small JSON file per step.

``<home>/build-cache/<key>.json`` holds what went into the key (so a student can read *why* a
step hit or missed) and the manifest digest of the intermediate image the step produced. The
key is the sha256 of those inputs:

- ``parent``: the parent image's ID (its config digest). It names the parent's layers — its
  ChainID, also recorded — *and* its run config: two parents with the same layers but a
  different ENV or WORKDIR must not share a RUN result, and the stored intermediate carries
  its parent's config and history, so only the very same parent may reuse it;
- ``instruction``: the step after substitution (RUN's text includes the ARG values in scope);
- ``files``: for COPY/ADD, the content hash of the files copied (paths, modes, contents);
- ``epoch``: ``SOURCE_DATE_EPOCH`` when set (it decides every timestamp, hence the digests).

An entry is only a hint: it hits when every blob of its image is still in the content store
(``system prune`` and ``rmi`` may have collected an unnamed intermediate); otherwise it is a miss
and the step runs again. Files are written atomically, so concurrent builds at worst both miss.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from ..content.atomic import atomic_write_bytes
from ..oci.canonical import dumps


class BuildCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def key(inputs: Mapping[str, object]) -> str:
        """sha256 hex of the canonical JSON of ``inputs``.

        >>> BuildCache.key({"parent": "sha256:ab", "instruction": "ENV A=1"})[:12]
        'ed6a7c070a69'
        """
        return hashlib.sha256(json.dumps(dict(inputs), sort_keys=True, separators=(",", ":"))
                              .encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> str | None:
        """The manifest digest recorded for ``key``, if any (its blobs may be gone: check)."""
        try:
            entry = json.loads(self.path(key).read_text())
        except (FileNotFoundError, ValueError):
            return None  # missing, or unreadable: either way a miss
        image = entry.get("image") if isinstance(entry, dict) else None
        return image if isinstance(image, str) else None

    def put(self, key: str, inputs: Mapping[str, object], image: str) -> None:
        atomic_write_bytes(self.path(key), dumps({**inputs, "image": image}))

    def entries(self) -> list[dict[str, object]]:
        found = []
        for path in sorted(self.root.glob("*.json")):
            try:
                found.append({"key": path.stem, **json.loads(path.read_text())})
            except ValueError:
                continue
        return found

    def clear(self) -> int:
        removed = 0
        for path in self.root.glob("*.json"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed
