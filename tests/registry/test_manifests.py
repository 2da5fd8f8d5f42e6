"""What a pushed manifest must satisfy: pure validation, no server."""

from __future__ import annotations

import json

import pytest

from minidock_magic.errors import InvalidArgument, TooLarge
from minidock_magic.oci.digest import Digest
from minidock_magic.oci.mediatypes import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST
from minidock_magic.registry.manifests import (
    MAX_MANIFEST_BYTES,
    check_references,
    referenced_digests,
    validate,
)

CONFIG = {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "c" * 64, "size": 10}
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "1" * 64, "size": 20}
CHILD = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "2" * 64, "size": 30}
SUBJECT = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "3" * 64, "size": 40}


def doc(**fields: object) -> bytes:
    return json.dumps({"schemaVersion": 2, **fields}).encode()


def invalid(body: bytes, content_type: str | None) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as caught:
        validate(body, content_type)
    return caught.value


def test_image_manifest() -> None:
    body = doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[LAYER])
    info = validate(body, OCI_MANIFEST)
    assert info.digest == Digest.of(body) and info.size == len(body)
    assert [str(d) for d in info.blobs] == [CONFIG["digest"], LAYER["digest"]]
    assert info.manifests == () and info.subject is None


def test_index_and_docker_types() -> None:
    info = validate(doc(mediaType=OCI_INDEX, manifests=[CHILD]), OCI_INDEX)
    assert [str(d) for d in info.manifests] == [CHILD["digest"]] and info.blobs == ()
    assert validate(doc(mediaType=DOCKER_MANIFEST, config=CONFIG, layers=[LAYER]), DOCKER_MANIFEST).blobs
    assert validate(doc(mediaType=DOCKER_MANIFEST_LIST, manifests=[CHILD]), DOCKER_MANIFEST_LIST).manifests


def test_media_type_from_either_side() -> None:
    # No mediaType in the document: the Content-Type says (older OCI manifests look like this).
    assert validate(doc(config=CONFIG, layers=[]), OCI_MANIFEST).media_type == OCI_MANIFEST
    # No Content-Type: the document says; parameters on the header are ignored.
    assert validate(doc(mediaType=OCI_INDEX, manifests=[]), None).media_type == OCI_INDEX
    assert validate(doc(mediaType=OCI_INDEX, manifests=[]), OCI_INDEX + "; charset=utf-8").media_type == OCI_INDEX


def test_media_type_mismatch_is_rejected() -> None:
    error = invalid(doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[]), DOCKER_MANIFEST)
    assert error.registry_code == "MANIFEST_INVALID" and "does not match" in str(error)


def test_ambiguous_document_is_rejected() -> None:
    for body in (doc(manifests=[CHILD], layers=[LAYER]), doc(manifests=[CHILD], config=CONFIG)):
        for content_type in (OCI_INDEX, OCI_MANIFEST, None):
            assert "ambiguous" in str(invalid(body, content_type))


@pytest.mark.parametrize(("body", "content_type"), [
    (b"", OCI_MANIFEST),
    (b"not json", OCI_MANIFEST),
    (b"\xff\xfe", OCI_MANIFEST),
    (b"[]", OCI_MANIFEST),
    (doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[]).replace(b'"schemaVersion": 2', b'"schemaVersion": 1'),
     OCI_MANIFEST),
    (doc(config=CONFIG, layers=[]), "application/vnd.docker.distribution.manifest.v1+prettyjws"),
    (doc(config=CONFIG, layers=[]), "text/plain"),
    (doc(mediaType=OCI_INDEX), OCI_INDEX),  # no manifests list
    (doc(mediaType=OCI_MANIFEST, layers=[]), OCI_MANIFEST),  # no config
    (doc(mediaType=OCI_MANIFEST, config=CONFIG, layers="x"), OCI_MANIFEST),
    (doc(mediaType=OCI_MANIFEST, config={**CONFIG, "digest": "sha256:zz"}, layers=[]), OCI_MANIFEST),
    (doc(mediaType=OCI_MANIFEST, config={**CONFIG, "size": -1}, layers=[]), OCI_MANIFEST),
    (doc(mediaType=OCI_MANIFEST, config={**CONFIG, "size": True}, layers=[]), OCI_MANIFEST),
    (doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[{**LAYER, "mediaType": 5}]), OCI_MANIFEST),
    (doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[], subject={"digest": "x"}), OCI_MANIFEST),
    (doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[], annotations={"a": 1}), OCI_MANIFEST),
    (doc(mediaType=7, config=CONFIG, layers=[]), None),
])
def test_malformed_manifests(body: bytes, content_type: str) -> None:
    assert invalid(body, content_type).registry_code == "MANIFEST_INVALID"


def test_size_limit() -> None:
    body = doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[])
    padded = body[:-1] + b" " * (MAX_MANIFEST_BYTES - len(body)) + b"}"
    assert len(padded) == MAX_MANIFEST_BYTES and validate(padded, OCI_MANIFEST).size == MAX_MANIFEST_BYTES
    with pytest.raises(TooLarge) as caught:
        validate(padded + b" ", OCI_MANIFEST)
    assert caught.value.http_status == 413


def test_subject_and_artifact_type() -> None:
    info = validate(doc(mediaType=OCI_MANIFEST, artifactType="application/vnd.example.sbom", config=CONFIG,
                        layers=[], subject=SUBJECT, annotations={"k": "v"}), OCI_MANIFEST)
    assert str(info.subject) == SUBJECT["digest"]
    entry = info.referrer_descriptor()
    assert entry == {"mediaType": OCI_MANIFEST, "digest": str(info.digest), "size": info.size,
                     "artifactType": "application/vnd.example.sbom", "annotations": {"k": "v"}}
    # Without artifactType, an image manifest's config media type stands in (spec: listing referrers).
    plain = validate(doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[], subject=SUBJECT), OCI_MANIFEST)
    assert plain.referrer_descriptor()["artifactType"] == CONFIG["mediaType"]
    index = validate(doc(mediaType=OCI_INDEX, manifests=[], subject=SUBJECT), OCI_INDEX)
    assert index.subject is not None and "artifactType" not in index.referrer_descriptor()


def test_check_references() -> None:
    info = validate(doc(mediaType=OCI_MANIFEST, config=CONFIG, layers=[LAYER]), OCI_MANIFEST)
    check_references(info, lambda d: True, lambda d: False)
    with pytest.raises(InvalidArgument) as caught:
        check_references(info, lambda d: str(d) == CONFIG["digest"], lambda d: True)
    assert caught.value.registry_code == "MANIFEST_BLOB_UNKNOWN" and str(LAYER["digest"]) in str(caught.value)
    index = validate(doc(mediaType=OCI_INDEX, manifests=[CHILD]), OCI_INDEX)
    with pytest.raises(InvalidArgument) as caught:
        check_references(index, lambda d: True, lambda d: False)
    assert caught.value.registry_code == "MANIFEST_BLOB_UNKNOWN"


def test_foreign_layers_need_not_be_pushed() -> None:
    foreign = {**LAYER, "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
               "urls": ["https://example.com/layer"]}
    info = validate(doc(mediaType=DOCKER_MANIFEST, config=CONFIG, layers=[foreign]), DOCKER_MANIFEST)
    assert [str(d) for d in info.blobs] == [CONFIG["digest"]]


def test_referenced_digests_is_lenient() -> None:
    assert referenced_digests(b"garbage") == (set(), set())
    assert referenced_digests(b"[1]") == (set(), set())
    body = doc(config=CONFIG, layers=[LAYER, "junk"], manifests=[CHILD], subject=SUBJECT)
    assert referenced_digests(body) == ({CONFIG["digest"], LAYER["digest"]}, {CHILD["digest"], SUBJECT["digest"]})
