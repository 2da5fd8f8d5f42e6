"""Which blobs the named images (and containers) still need: the walk behind check and prune."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..content.store import ContentStore
from ..errors import InvalidArgument, NotFound
from ..oci import mediatypes as mt
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from ..oci.manifest import Index, parse_any


@dataclass
class Reachable:
    present: set[Digest] = field(default_factory=set)
    missing: dict[Digest, str] = field(default_factory=dict)   # digest -> who referenced it
    unreadable: dict[Digest, str] = field(default_factory=dict)  # manifests that do not parse


def walk(content: ContentStore, roots: Iterable[Descriptor]) -> Reachable:
    """Follow indexes -> manifests -> config/layers from ``roots``; note what is absent."""
    seen = Reachable()
    pending = [(root, "index.json") for root in roots]
    while pending:
        desc, referrer = pending.pop()
        if desc.digest in seen.present or desc.digest in seen.missing:
            continue
        if not content.exists(desc.digest):
            seen.missing[desc.digest] = referrer
            continue
        seen.present.add(desc.digest)
        if desc.media_type in mt.MANIFEST_TYPES | mt.INDEX_TYPES:
            try:
                document = parse_any(content.read_bytes(desc.digest), desc.media_type)
            except (InvalidArgument, NotFound) as exc:
                seen.unreadable[desc.digest] = str(exc)
                continue
            children = (document.manifests if isinstance(document, Index)
                        else (document.config, *document.layers))
            # An index may list platforms we never pulled: only what is present is walked, and
            # absent children of an index are not "missing" (containerd's behaviour too).
            for child in children:
                if isinstance(document, Index) and not content.exists(child.digest):
                    continue
                pending.append((child, str(desc.digest)))
    return seen
