"""SHARED SIZE counts a layer by its content (ChainID), as docker does and as ``graph`` draws it:
an image another tool rebuilt on ours, with the base layer stored under another blob digest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Podman, need, run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def rebuilt_by_buildah(busybox_engine, podman: Podman, tmp_path: Path) -> Path:
    """busybox from our store, one file added by buildah, exported by skopeo as a docker archive
    (whose layers are uncompressed tars: new blob digests for the very same layers)."""
    run(need("skopeo"), "--insecure-policy", "copy",
        f"oci:{busybox_engine.layout.oci}:docker.io/library/busybox:latest",
        f"{podman.storage}docker.io/library/busybox:latest")
    ctr = podman.buildah("from", "docker.io/library/busybox:latest").stdout.strip()
    mnt = podman.mount(ctr)
    (mnt / "rebuilt.txt").write_text("made by buildah\n")
    podman.buildah("commit", "-q", ctr, "rebuilt:1")
    archive = tmp_path / "rebuilt.tar"
    run(need("skopeo"), "--insecure-policy", "copy", f"{podman.storage}localhost/rebuilt:1",
        f"docker-archive:{archive}:rebuilt:1")
    return archive


def test_a_base_layer_under_another_blob_digest_still_counts_as_shared(busybox_engine, tmp_path, podman):
    engine = busybox_engine
    with open(rebuilt_by_buildah(engine, podman, tmp_path), "rb") as source:
        engine.load(source)
    ours, theirs = engine.image("busybox"), engine.image("rebuilt:1")
    assert theirs.layers[0].digest != ours.layers[0].digest  # another blob…
    assert theirs.config.chain_ids[0] == ours.config.chain_ids[0]  # …of the same layer

    rows = {row.repository: row for row in engine.images().rows}
    assert rows["busybox"].shared_size == ours.layers[0].size
    assert rows["rebuilt"].shared_size == theirs.layers[0].size and rows["rebuilt"].unique_size > 0

    [shared] = engine.graph().shared_layers()
    assert shared.id == f"layer:{ours.config.chain_ids[0].encoded[:16]}" and "shared by 2 images" in shared.label
