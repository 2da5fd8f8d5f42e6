import json

import pytest

from minidock_magic.errors import InvalidArgument, NotFound
from minidock_magic.oci import (Descriptor, Digest, History, ImageConfig, Index, Manifest, Platform,
                                chain_ids, parse_any)
from minidock_magic.oci import mediatypes as mt


def test_digest_parse_and_validate():
    d = Digest.of(b"")
    assert str(d) == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for bad in ["sha256:" + "A" * 64, "sha256:abc", "sha1:" + "a" * 40, "sha256", "", "../x"]:
        with pytest.raises(InvalidArgument):
            Digest.parse(bad)


def test_chain_ids_follow_the_spec():
    a, b, c = (Digest.of(x) for x in (b"a", b"b", b"c"))
    chain = chain_ids([a, b, c])
    assert chain[0] == a
    assert chain[1] == Digest.of(f"{a} {b}".encode())
    assert chain[2] == Digest.of(f"{chain[1]} {c}".encode())
    # The same top layer over a different base is a different chain: no false sharing.
    assert chain_ids([b, c])[1] != chain[2]


def _layer(n: bytes) -> Descriptor:
    return Descriptor(mt.OCI_LAYER_GZIP, Digest.of(n), len(n))


def test_manifest_round_trips_byte_for_byte():
    config = Descriptor(mt.OCI_CONFIG, Digest.of(b"{}"), 2)
    built = Manifest.build(config, [_layer(b"1"), _layer(b"2")], annotations={"k": "v"})
    parsed = Manifest.parse(built.raw)
    assert parsed == built and parsed.raw == built.raw
    assert parsed.digest == Digest.of(built.raw)
    again = Manifest.build(parsed.config, parsed.layers, annotations=parsed.annotations)
    assert again.raw == built.raw


def test_foreign_manifest_bytes_are_kept_exactly():
    raw = json.dumps({"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST,
                      "config": {"mediaType": mt.DOCKER_CONFIG, "size": 2,
                                 "digest": str(Digest.of(b"{}"))},
                      "layers": []}, indent=3).encode()
    manifest = Manifest.parse(raw)
    assert manifest.raw == raw and manifest.digest == Digest.of(raw)
    assert manifest.media_type == mt.DOCKER_MANIFEST


def test_ambiguous_documents_are_refused():
    config = {"mediaType": mt.OCI_CONFIG, "size": 2, "digest": str(Digest.of(b"{}"))}
    raw = json.dumps({"schemaVersion": 2, "config": config, "layers": [], "manifests": []}).encode()
    with pytest.raises(InvalidArgument, match="ambiguous"):
        Manifest.parse(raw)
    with pytest.raises(InvalidArgument, match="ambiguous"):
        Index.parse(raw, mt.OCI_INDEX)


def test_index_selects_platform():
    amd = Descriptor(mt.OCI_MANIFEST, Digest.of(b"amd"), 3, platform=Platform("linux", "amd64"))
    arm = Descriptor(mt.OCI_MANIFEST, Digest.of(b"arm"), 3, platform=Platform("linux", "arm64", "v8"))
    index = Index.build([arm, amd])
    assert isinstance(parse_any(index.raw), Index)
    assert index.select(Platform("linux", "amd64")).digest == amd.digest
    assert index.select(Platform("linux", "arm64")).digest == arm.digest
    with pytest.raises(NotFound, match="linux/s390x"):
        index.select(Platform("linux", "s390x"))
    assert Index.parse(index.raw).raw == index.raw


def test_config_create_derive_and_history():
    d1, d2 = Digest.of(b"l1"), Digest.of(b"l2")
    base = ImageConfig.create(diff_ids=[d1], history=[History(created_by="base")],
                              run={"Cmd": ["sh"]}, created="2024-01-01T00:00:00Z",
                              platform=Platform("linux", "amd64"))
    child = base.derive(diff_id=None, history=History(created_by="ENV A=1", empty_layer=True),
                        run={"Cmd": ["sh"], "Env": ["A=1"]}, created="2024-01-02T00:00:00Z")
    child = child.derive(diff_id=d2, history=History(created_by="RUN x"), created="2024-01-03T00:00:00Z")
    assert child.diff_ids == [d1, d2]
    assert [d for _, d in child.layer_history()] == [d1, None, d2]
    assert child.chain_ids == chain_ids([d1, d2])
    assert ImageConfig.parse(child.raw).raw == child.raw
    assert base.diff_ids == [d1]  # deriving never changes the parent


def test_config_history_count_must_match_diff_ids():
    raw = json.dumps({"rootfs": {"type": "layers", "diff_ids": [str(Digest.of(b"x"))]},
                      "history": [{"created_by": "a"}, {"created_by": "b"}]}).encode()
    with pytest.raises(InvalidArgument, match="history has 2 layers"):
        ImageConfig.parse(raw)


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"rootfs": {"type": "x"}}',
                                 b'{"rootfs": {"type": "layers", "diff_ids": ["nope"]}}'])
def test_bad_configs(raw):
    with pytest.raises(InvalidArgument):
        ImageConfig.parse(raw)


def test_deriving_from_a_config_without_history_keeps_history_aligned():
    raw = json.dumps({"rootfs": {"type": "layers", "diff_ids": [str(Digest.of(b"a"))]}}).encode()
    child = ImageConfig.parse(raw).derive(diff_id=Digest.of(b"b"), history=History(created_by="RUN x"),
                                          created="2024-01-01T00:00:00Z")
    assert [d for _, d in child.layer_history()] == [Digest.of(b"a"), Digest.of(b"b")]


@pytest.mark.parametrize("raw", [b'{"mediaType": [null], "config": {}, "layers": []}',
                                 b'{"schemaVersion": 2, "annotations": [1], "config": {}, "layers": []}',
                                 b"[" * 100_000 + b"]" * 100_000])
def test_hostile_manifests_are_one_line_errors(raw):
    with pytest.raises(InvalidArgument):
        parse_any(raw)
