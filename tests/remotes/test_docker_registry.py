"""Push and pull against a real CNCF distribution registry, checked with skopeo."""

from __future__ import annotations

import json
import os

import pytest

from minidock_magic.errors import DigestMismatch, NotFound, Unavailable
from minidock_magic.facade import Minidock
from minidock_magic.oci import (
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    Platform,
    Reference,
)
from minidock_magic.oci import mediatypes as mt
from minidock_magic.remotes import (
    RegistryClient,
    list_tags,
    manifest_inspect,
    pull,
    push,
    search,
)
from minidock_magic.results import human_size
from tests.conftest import need, run
from tests.servers import free_port

pytestmark = pytest.mark.integration


def test_push_then_pull_into_another_home_gives_the_same_image(busybox_engine, second_engine, registry,
                                                               lines):
    name = f"{registry.address}/me/busybox:1"
    busybox_engine.tag("busybox", name)
    local = busybox_engine.image(name)
    status = []
    digest = push(busybox_engine, name, trace=lines, out=status.append)
    assert digest == local.digest
    layer = local.layers[0].digest.short
    assert status[0] == f"The push refers to repository [{registry.address}/me/busybox]"
    assert f"{layer}: Pushed" in status
    assert status[-1] == f"1: digest: {digest} size: {local.target.size}"

    status.clear()
    pulled = pull(second_engine, name, out=status.append)
    assert pulled.digest == local.digest and pulled.id == local.id
    assert [d.digest for d in pulled.layers] == [d.digest for d in local.layers]
    assert status == ["1: Pulling from me/busybox", f"{layer}: Pull complete",
                      f"Downloaded 1 layer ({human_size(local.layers[0].size)})", f"Digest: {digest}",
                      f"Status: Downloaded newer image for {name}", name]
    assert all(second_engine.content.verify(b.digest) for b in pulled.blobs())
    assert second_engine.image_inspect(name)["RepoDigests"] == [f"{registry.address}/me/busybox@{digest}"]


def test_second_push_sends_no_blob_and_second_pull_fetches_nothing(busybox_engine, registry, lines):
    name = f"{registry.address}/me/again:1"
    busybox_engine.tag("busybox", name)
    push(busybox_engine, name)
    status = []
    push(busybox_engine, name, trace=lines, out=status.append)
    layer = busybox_engine.image(name).layers[0].digest.short
    assert f"{layer}: Layer already exists" in status
    assert lines.requests("POST") == [] and lines.requests("PATCH") == []
    assert len(lines.requests("PUT")) == 1 and "/manifests/1" in lines.requests("PUT")[0]
    assert len(lines.requests("HEAD")) == 2  # layer and config

    lines.clear()
    status.clear()
    pull(busybox_engine, name, trace=lines, out=status.append)
    assert f"Status: Image is up to date for {name}" in status
    assert f"{layer}: Already exists" in status
    assert lines.requests("GET") == []  # a HEAD showed the manifest is the one we have


def test_push_to_another_repository_mounts_instead_of_uploading(busybox_engine, registry, lines):
    first, second = f"{registry.address}/team/base:1", f"{registry.address}/team/app:1"
    busybox_engine.tag("busybox", first)
    busybox_engine.tag("busybox", second)
    push(busybox_engine, first)
    status = []
    push(busybox_engine, second, trace=lines, out=status.append)
    layer = busybox_engine.image(second).layers[0].digest.short
    assert f"{layer}: Mounted from team/base" in status
    assert len(lines.requests("POST", "?mount=")) == 2 and "from=team/base" in lines.requests("POST")[0]
    assert lines.requests("PUT", "/blobs/") == []
    record = json.loads((busybox_engine.home / "remotes.json").read_text())
    assert f"{registry.address}/team/app" in record[str(busybox_engine.image(second).layers[0].digest)]


def test_skopeo_sees_what_we_pushed(busybox_engine, registry):
    name = f"{registry.address}/me/inspected:1"
    busybox_engine.tag("busybox", name)
    digest = push(busybox_engine, name)
    out = run(need("skopeo"), "inspect", "--tls-verify=false", f"docker://{name}").stdout
    seen = json.loads(out)
    image = busybox_engine.image(name)
    assert seen["Digest"] == str(digest)
    assert seen["Layers"] == [str(layer.digest) for layer in image.layers]
    raw = run(need("skopeo"), "inspect", "--raw", "--tls-verify=false", f"docker://{name}").stdout
    assert raw.encode() == busybox_engine.content.read_bytes(digest)


def test_we_pull_what_skopeo_pushed_from_our_own_store(busybox_engine, second_engine, registry):
    source = busybox_engine.image("busybox")
    target = f"{registry.address}/sk/bb:1"
    run(need("skopeo"), "copy", "--insecure-policy", "--dest-tls-verify=false",
        f"oci:{busybox_engine.layout.oci}:docker.io/library/busybox:latest", f"docker://{target}")
    pulled = pull(second_engine, target)
    assert pulled.id == source.id
    assert [d.digest for d in pulled.layers] == [d.digest for d in source.layers]


def _other_platform_image(engine, platform: Platform) -> Descriptor:
    """A second, tiny 'platform' of busybox: the same layer, a config saying another arch."""
    busybox = engine.image("busybox")
    config = ImageConfig.create(diff_ids=busybox.config.diff_ids, history=busybox.config.history,
                                run=busybox.config.run, created=busybox.config.created or "",
                                platform=platform)
    info = engine.content.put_bytes(config.raw)
    manifest = Manifest.build(Descriptor(mt.OCI_CONFIG, info.digest, info.size), list(busybox.layers))
    engine.content.put_bytes(manifest.raw)
    return manifest.descriptor()


def test_an_index_pulls_this_platform_and_keeps_the_index(busybox_engine, second_engine, registry):
    host = Platform.host()
    other = Platform("linux", "s390x" if host.architecture != "s390x" else "amd64")
    mine = busybox_engine.image("busybox").target
    theirs = _other_platform_image(busybox_engine, other)
    index = Index.build([Descriptor(mine.media_type, mine.digest, mine.size, platform=host),
                         Descriptor(theirs.media_type, theirs.digest, theirs.size, platform=other)])
    busybox_engine.content.put_bytes(index.raw)
    name = f"{registry.address}/multi/bb:1"
    busybox_engine.names.set(Reference.parse(name),
                             Descriptor(index.media_type, index.digest, len(index.raw)))
    assert push(busybox_engine, name) == index.digest  # both manifests by digest, then the index

    pulled = pull(second_engine, name)
    assert pulled.digest == index.digest          # the name keeps what the registry calls the image
    assert pulled.manifest.digest == mine.digest  # …and opens this host's manifest
    assert second_engine.content.exists(index.digest)
    assert not second_engine.content.exists(theirs.digest)

    third = Minidock(second_engine.home.parent / "home3")
    picked = pull(third, name, platform=str(other))
    assert picked.digest == theirs.digest and picked.config.platform.architecture == other.architecture

    # Half an index cannot go to a registry (it would refuse the missing manifest): we push ours.
    status = []
    again = f"{registry.address}/multi/partial:1"
    second_engine.tag(name, again)
    assert push(second_engine, again, out=status.append) == mine.digest
    assert any("pushing that manifest, not the index" in line for line in status)


def test_a_corrupt_blob_is_refused_and_nothing_is_stored(busybox_engine, second_engine, registry,
                                                        tmp_path):
    # A fresh image of its own, so corrupting its blob disturbs no other test.
    (tmp_path / "rootfs").mkdir()
    (tmp_path / "rootfs/hello.txt").write_text("corrupt me\n")
    name = f"{registry.address}/bad/blob:1"
    image = busybox_engine.import_image(tmp_path / "rootfs", name)
    push(busybox_engine, name)
    layer = image.layers[0]
    path = registry.blob_path(layer.digest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different bytes
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))

    with pytest.raises(DigestMismatch) as caught:
        pull(second_engine, name)
    assert layer.digest.short in str(caught.value) and "\n" not in str(caught.value)
    assert not second_engine.content.exists(layer.digest)
    assert not second_engine.content.exists(image.digest)
    assert second_engine.names.entries() == []
    assert list(second_engine.layout.tmp.glob("ingest-*")) == []


def test_tags_catalog_search_inspect_and_delete(busybox_engine, registry, lines):
    repo = f"{registry.address}/listing/bb"
    for name in (f"{repo}:a", f"{repo}:b", f"{repo}:c", f"{registry.address}/listing/zz:1"):
        busybox_engine.tag("busybox", name)
        push(busybox_engine, name)
    with RegistryClient(registry.address, trace=lines) as client:
        # distribution 2.8 pages the catalog (Link: rel="next") but not tags, in no set order
        assert sorted(client.tags("listing/bb", n=1)) == ["a", "b", "c"]
        one_by_one = client.catalog(n=1)
    assert {"listing/bb", "listing/zz"} <= set(one_by_one) and len(one_by_one) == len(set(one_by_one))
    assert len(lines.requests("GET", "/v2/_catalog")) >= len(one_by_one)  # a page per repository
    assert sorted(list_tags(busybox_engine, repo)) == ["a", "b", "c"]
    assert search(busybox_engine, "listing/b", registry.address) == [f"{registry.address}/listing/bb"]
    manifest = manifest_inspect(busybox_engine, f"{repo}:a")
    assert manifest["mediaType"] == mt.OCI_MANIFEST
    assert manifest["layers"][0]["digest"] == str(busybox_engine.image("busybox").layers[0].digest)

    digest = busybox_engine.image("busybox").digest
    with RegistryClient(registry.address) as client:
        client.delete_manifest("listing/bb", digest)
        with pytest.raises(NotFound) as caught:
            client.resolve(Reference.parse(f"{repo}:a"))
    assert "manifest unknown" in str(caught.value)


def test_missing_image_and_missing_registry_are_one_line(engine, registry):
    with pytest.raises(NotFound) as caught:
        pull(engine, f"{registry.address}/no/such:1")
    assert str(caught.value).startswith(f"cannot pull {registry.address}/no/such:1: ")
    port = free_port()
    with pytest.raises(Unavailable) as refused:
        pull(engine, f"127.0.0.1:{port}/me/busybox:1")
    assert str(refused.value) == (f"cannot reach registry 127.0.0.1:{port} at http://127.0.0.1:{port}: "
                                  "connection refused — is it running?")
    assert engine.names.entries() == []


def test_large_blobs_go_up_in_a_patch(busybox_engine, registry, lines):
    image = busybox_engine.image("busybox")
    layer = image.layers[0]
    with RegistryClient(registry.address, trace=lines, monolithic_max=1000) as client:
        with busybox_engine.content.open(layer.digest) as stream:
            client.push_blob("chunked/bb", layer, stream)
        assert client.has_blob("chunked/bb", layer.digest)
    assert len(lines.requests("PATCH")) == 1
    assert lines.requests("PUT")[0].endswith(f"digest={layer.digest}")  # the closing PUT is empty
