"""Our archives and store against the real tools: skopeo, podman, buildah, umoci."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import Podman, need, run, tree_listing

pytestmark = pytest.mark.integration


def test_skopeo_reads_our_store_directly(busybox_engine, tmp_path):
    out = run(need("skopeo"), "--insecure-policy", "inspect",
              f"oci:{busybox_engine.layout.oci}:docker.io/library/busybox:latest")
    assert str(busybox_engine.image("busybox").digest) in out.stdout


def test_skopeo_accepts_our_saved_archive(busybox_engine, tmp_path):
    archive = tmp_path / "bb.tar"
    with open(archive, "wb") as out:
        busybox_engine.save(["busybox"], out)
    run(need("skopeo"), "--insecure-policy", "copy", f"docker-archive:{archive}", f"oci:{tmp_path}/copy:x")
    run(need("skopeo"), "--insecure-policy", "copy", f"docker-archive:{archive}:busybox:latest",
        f"dir:{tmp_path}/dir")
    assert (tmp_path / "copy/index.json").exists() and (tmp_path / "dir/manifest.json").exists()


def test_podman_loads_our_archive_and_runs_nothing_else(busybox_engine, tmp_path, podman: Podman):
    archive = tmp_path / "bb.tar"
    with open(archive, "wb") as out:
        busybox_engine.save(["busybox"], out)
    podman.podman("load", "-i", str(archive))
    listed = podman.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    assert "docker.io/library/busybox:latest" in listed


def buildah_image_with_a_deletion(podman: Podman, tmp_path: Path) -> Path:
    """Two buildah layers, the second deleting a file the first added; exported by skopeo."""
    b = podman.buildah
    ctr = b("from", "scratch").stdout.strip()
    mnt = podman.mount(ctr)
    for d in ("bin", "etc/conf.d", "data"):
        (mnt / d).mkdir(parents=True)
    (mnt / "bin/busybox").write_bytes(Path("/bin/busybox").read_bytes())
    os.chmod(mnt / "bin/busybox", 0o755)
    (mnt / "etc/hello").write_text("hello\n")
    (mnt / "etc/conf.d/a").write_text("a\n")
    (mnt / "data/keep").write_text("keep\n")
    os.symlink("/bin/busybox", mnt / "bin/sh")
    b("commit", "-q", ctr, "img1")
    ctr2 = b("from", "localhost/img1").stdout.strip()
    mnt2 = podman.mount(ctr2)
    (mnt2 / "etc/hello").unlink()
    (mnt2 / "data/new").write_text("new\n")
    os.chmod(mnt2 / "data/keep", 0o600)
    os.link(mnt2 / "data/new", mnt2 / "data/new-hardlink")
    b("commit", "-q", ctr2, "img2")
    archive = tmp_path / "img2.tar"
    run(need("skopeo"), "--insecure-policy", "copy", f"{podman.storage}localhost/img2:latest",
        f"docker-archive:{archive}:img2:latest")
    run(need("skopeo"), "--insecure-policy", "copy", f"{podman.storage}localhost/img2:latest",
        f"oci:{tmp_path}/img2-oci:img2")
    return archive


def test_buildah_image_loads_and_unpacks_like_umoci(engine, tmp_path, podman: Podman):
    archive = buildah_image_with_a_deletion(podman, tmp_path)
    with open(archive, "rb") as source:
        assert engine.load(source) == ["Loaded image: img2:latest"]
    image = engine.image("img2")
    assert len(image.layers) == 2
    ours = engine.unpack("img2", tmp_path / "ours")
    run(need("umoci"), "unpack", "--rootless", "--image", f"{tmp_path}/img2-oci:img2", str(tmp_path / "bundle"))
    theirs = tmp_path / "bundle/rootfs"
    assert not (ours / "etc/hello").exists()
    assert tree_listing(ours) == tree_listing(theirs)
    assert (ours / "data/new").stat().st_ino == (ours / "data/new-hardlink").stat().st_ino


def test_umoci_unpacks_our_store(busybox_engine, tmp_path):
    # umoci names images by tag within the layout; give it a copy with a bare tag to find.
    run(need("skopeo"), "--insecure-policy", "copy",
        f"oci:{busybox_engine.layout.oci}:docker.io/library/busybox:latest", f"oci:{tmp_path}/l:bb")
    run(need("umoci"), "unpack", "--rootless", "--image", f"{tmp_path}/l:bb", str(tmp_path / "b"))
    ours = busybox_engine.unpack("busybox", tmp_path / "ours")
    assert tree_listing(ours) == tree_listing(tmp_path / "b/rootfs")
