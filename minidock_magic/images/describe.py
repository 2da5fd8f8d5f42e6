"""What ``images``, ``image inspect`` and ``history`` show about images (pure: no I/O)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from .image import Image
from .reports import HistoryRow, ImageRow


def image_rows(images: list[Image]) -> list[ImageRow]:
    """One row per name; a layer another image also uses counts as shared.

    A layer is the same layer when its content and everything beneath it are (its ChainID, from
    the uncompressed diff_ids): what docker counts, what ``graph`` draws, what is shared on disk.
    Not the compressed blob's digest: another tool that recompresses a layer (other gzip settings,
    zstd) makes a new blob of the very same layer."""
    users = Counter(chain for image in images for chain in set(image.config.chain_ids))
    rows = []
    for image in images:
        layers = dict(zip(image.config.chain_ids, (layer.size for layer in image.layers)))
        shared = sum(size for chain, size in layers.items() if users[chain] > 1)
        for name in image.names or (None,):
            rows.append(ImageRow(name.familiar_repository if name else "<none>",
                                 (name.tag or "<none>") if name else "<none>", image.id, image.digest,
                                 image.config.created, image.size, shared, image.size - shared))
    rows.sort(key=lambda r: (r.repository, r.tag))
    return rows


def inspect(image: Image) -> dict[str, Any]:
    """docker's ``image inspect`` object, plus what a student should see: descriptors, ChainIDs."""
    config = image.config
    return {
        "Id": str(image.id),
        "RepoTags": [n.familiar for n in image.names],
        "RepoDigests": sorted({f"{n.familiar_repository}@{image.digest}" for n in image.names}),
        "Parent": "",
        "Comment": (config.history[-1].comment or "") if config.history else "",
        "Created": config.created,
        "Author": config.data.get("author", ""),
        "Config": config.run,
        "Architecture": config.platform.architecture,
        "Os": config.platform.os,
        "Size": image.size,
        "RootFS": {"Type": "layers", "Layers": [str(d) for d in config.diff_ids]},
        "Descriptor": image.target.to_json(),
        "Layers": [layer.to_json() for layer in image.layers],
        "ChainIDs": [str(c) for c in config.chain_ids],
    }


def history_rows(image: Image) -> list[HistoryRow]:
    """Newest step first; steps that only changed metadata have no layer and size 0."""
    by_diff_id = dict(zip(image.config.diff_ids, image.layers))
    rows = []
    for position, (step, diff_id) in enumerate(reversed(image.config.layer_history())):
        layer = by_diff_id.get(diff_id) if diff_id else None
        rows.append(HistoryRow(image.id.short if position == 0 else "<missing>", step.created,
                               step.created_by or "", layer.size if layer else 0, step.comment or "",
                               layer.digest if layer else None))
    return rows
