"""The conformance suite's test content, ported from distribution-spec ``conformance/setup.go`` and
``image.go`` (v1.1.1): configs, a layer, manifests with an unknown field, chunked blobs, and the
referrers fixtures (artifacts whose ``subject`` is ``manifests[4]``, one whose subject is never
pushed, and an index artifact).

Documents are serialised the way Go's ``json.MarshalIndent(v, "", "\\t")`` does, in the Go structs'
field order, with ``omitempty`` fields left out and ``newUnspecifiedField`` (no ``omitempty``)
present on every descriptor — ``null`` unless set — so a registry must store and serve fields it
does not know. The Go suite draws random authors per run; here the seed is fixed, because every
run starts from empty registries anyway and a reproducible digest is easier to debug.

>>> EMPTY_JSON_DIGEST
'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'
>>> TEST_BLOB_B.length, TEST_BLOB_B_CHUNK1_RANGE, TEST_BLOB_B_CHUNK2_RANGE
('42', '0-21', '22-41')
>>> json.loads(MANIFESTS[0].content)["config"]["newUnspecifiedField"]
'aGVsbG8gd29ybGQ='
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

#: The Go suite's Ginkgo random seed stands in for this one.
SEED = 20240214

#: ``echo 'you bothered to find out what was in here. Congratulations!' > test.txt; tar czvf``
LAYER_BASE64 = ("H4sIAAAAAAAAA+3OQQrCMBCF4a49xXgBSUnaHMCTRBptQRNpp6i3t0UEV7oqIv7fYgbmzeJpHHSjVy0"
                "WZCa1c/MufWVe94N3RWlrZ72x3k/30nhbFWKWLPU0Dhp6keJ8im//PuU/6pZH2WVtYx8b0Sz7LjWSR5VLG6Y"
                "RBumSzOlGtjkd+qDjMWiX07Befbs7AAAAAAAAAAAAAAAAAPyzO34MnqoAKAAA")

#: setup.go's ``errorCodes``: the codes a spec error body may carry.
ERROR_CODES = frozenset({
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "MANIFEST_UNVERIFIED",
    "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID", "TAG_INVALID", "UNAUTHORIZED", "DENIED",
    "UNSUPPORTED",
})

TEST_TAG_NAME = "tagtest0"
EMPTY_LAYER_TEST_TAG = "emptylayer"
NONEXISTENT_MANIFEST = ".INVALID_MANIFEST_NAME"
INVALID_MANIFEST_CONTENT = b"blablabla"
ARTIFACT_TYPE_FILTER = "artifactType"
ANNOTATION_KEY = "org.opencontainers.conformance.test"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def go_json(document: dict[str, Any]) -> bytes:
    """``json.MarshalIndent(document, "", "\\t")``."""
    return json.dumps(document, indent="\t", ensure_ascii=False).encode()


@dataclass(frozen=True)
class Blob:
    """setup.go's ``TestBlob``: content, its digest, and its length as the header carries it."""

    content: bytes

    @property
    def digest(self) -> str:
        return digest_of(self.content)

    @property
    def length(self) -> str:
        return str(len(self.content))


def descriptor(media_type: str, content: bytes, *, annotations: dict[str, str] | None = None,
               data: bytes | None = None, artifact_type: str | None = None,
               new_unspecified_field: bytes | None = None) -> dict[str, Any]:
    """image.go's ``descriptor`` in its field order (``urls``, ``platform`` are never set here)."""
    found: dict[str, Any] = {"mediaType": media_type, "digest": digest_of(content), "size": len(content)}
    if annotations:
        found["annotations"] = annotations
    if data is not None:
        found["data"] = base64.b64encode(data).decode()
    if artifact_type:
        found["artifactType"] = artifact_type
    found["newUnspecifiedField"] = (base64.b64encode(new_unspecified_field).decode()
                                    if new_unspecified_field is not None else None)
    return found


def _manifest(config: dict[str, Any], layers: list[dict[str, Any]], *, media_type: str | None = OCI_MANIFEST,
              artifact_type: str | None = None, subject: dict[str, Any] | None = None,
              annotations: dict[str, str] | None = None) -> Blob:
    document: dict[str, Any] = {"schemaVersion": 2}
    if media_type:
        document["mediaType"] = media_type
    if artifact_type:
        document["artifactType"] = artifact_type
    document["config"], document["layers"] = config, layers
    if subject is not None:
        document["subject"] = subject
    if annotations:
        document["annotations"] = annotations
    return Blob(go_json(document))


def _random_string(rng: random.Random, n: int) -> str:
    letters = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"
    return "".join(rng.choice(letters) for _ in range(n))


_rng = random.Random(SEED)

#: One config per workflow (the Go suite makes one per bit of its workflow mask; 0-4 are used),
#: each unique through a random author.
CONFIGS = [Blob(go_json({"author": _random_string(_rng, 16), "architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": []}}))
           for _ in range(5)]

LAYER = Blob(base64.b64decode(LAYER_BASE64))
_LAYERS = [descriptor(OCI_LAYER_GZIP, LAYER.content)]


def _config_descriptor(config: Blob) -> dict[str, Any]:
    # The config descriptor carries the config itself as ``data``, plus a field no spec defines.
    return descriptor(OCI_CONFIG, config.content, data=config.content, new_unspecified_field=b"hello world")


MANIFESTS = [_manifest(_config_descriptor(config), _LAYERS) for config in CONFIGS]

#: No ``mediaType`` and no layers: the push test's "manifest upload with no layers".
EMPTY_LAYER_MANIFEST = _manifest(_config_descriptor(CONFIGS[1]), [], media_type=None)

TEST_BLOB_A = Blob(random.Random(SEED + 1).randbytes(42))


def chunked_blob(size: int) -> tuple[Blob, bytes, bytes]:
    """setup.go's ``setupChunkedBlob``: a blob and its two chunks, the first one byte longer."""
    blob = Blob(random.Random(SEED + 2).randbytes(size))
    return blob, blob.content[: size // 2 + 1], blob.content[size // 2 + 1:]


TEST_BLOB_B, TEST_BLOB_B_CHUNK1, TEST_BLOB_B_CHUNK2 = chunked_blob(42)
TEST_BLOB_B_CHUNK1_RANGE = f"0-{len(TEST_BLOB_B_CHUNK1) - 1}"
TEST_BLOB_B_CHUNK2_RANGE = f"{len(TEST_BLOB_B_CHUNK1)}-{len(TEST_BLOB_B.content) - 1}"

# -- referrers ---------------------------------------------------------------------------------
EMPTY_JSON = Blob(b"{}")
EMPTY_JSON_DIGEST = EMPTY_JSON.digest
_EMPTY_JSON_DESCRIPTOR = descriptor(OCI_EMPTY, EMPTY_JSON.content)

TEST_REF_BLOB_A = Blob(b"NHL Peanut Butter on my NHL bagel")
TEST_REF_ARTIFACT_TYPE_A = "application/vnd.nhl.peanut.butter.bagel"
TEST_REF_BLOB_B = Blob(b"NBA Strawberry Jam on my NBA croissant")
TEST_REF_ARTIFACT_TYPE_B = "application/vnd.nba.strawberry.jam.croissant"
TEST_REF_ARTIFACT_TYPE_INDEX = "application/vnd.food.stand"

_SUBJECT_4 = descriptor(OCI_MANIFEST, MANIFESTS[4].content)
_SUBJECT_3 = descriptor(OCI_MANIFEST, MANIFESTS[3].content)

#: The artifact type is the config's media type.
REFS_MANIFEST_A_CONFIG_ARTIFACT = _manifest(
    descriptor(TEST_REF_ARTIFACT_TYPE_A, TEST_REF_BLOB_A.content), [_EMPTY_JSON_DESCRIPTOR],
    subject=_SUBJECT_4, annotations={ANNOTATION_KEY: "test config a"})
REFS_MANIFEST_B_CONFIG_ARTIFACT = _manifest(
    descriptor(TEST_REF_ARTIFACT_TYPE_B, TEST_REF_BLOB_B.content), [_EMPTY_JSON_DESCRIPTOR],
    subject=_SUBJECT_4, annotations={ANNOTATION_KEY: "test config b"})
#: The artifact type is ``artifactType``; the config is the empty JSON.
REFS_MANIFEST_A_LAYER_ARTIFACT = _manifest(
    _EMPTY_JSON_DESCRIPTOR, [descriptor(TEST_REF_ARTIFACT_TYPE_A, TEST_REF_BLOB_A.content)],
    artifact_type=TEST_REF_ARTIFACT_TYPE_A, subject=_SUBJECT_4, annotations={ANNOTATION_KEY: "test layer a"})
REFS_MANIFEST_B_LAYER_ARTIFACT = _manifest(
    _EMPTY_JSON_DESCRIPTOR, [descriptor(TEST_REF_ARTIFACT_TYPE_B, TEST_REF_BLOB_B.content)],
    artifact_type=TEST_REF_ARTIFACT_TYPE_B, subject=_SUBJECT_4, annotations={ANNOTATION_KEY: "test layer b"})
#: Like B's layer artifact, but its subject (``manifests[3]``) is never pushed.
REFS_MANIFEST_C_LAYER_ARTIFACT = _manifest(
    _EMPTY_JSON_DESCRIPTOR, [descriptor(TEST_REF_ARTIFACT_TYPE_B, TEST_REF_BLOB_B.content)],
    artifact_type=TEST_REF_ARTIFACT_TYPE_B, subject=_SUBJECT_3)

REFS_INDEX_ARTIFACT = Blob(go_json({
    "schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": TEST_REF_ARTIFACT_TYPE_INDEX,
    "manifests": [descriptor(OCI_MANIFEST, REFS_MANIFEST_A_CONFIG_ARTIFACT.content),
                  descriptor(OCI_MANIFEST, REFS_MANIFEST_A_LAYER_ARTIFACT.content)],
    "subject": _SUBJECT_4, "annotations": {ANNOTATION_KEY: "test index"},
}))

#: The annotation each referrer of ``manifests[4]`` carries, by its digest.
ANNOTATION_VALUES = {
    REFS_MANIFEST_A_CONFIG_ARTIFACT.digest: "test config a",
    REFS_MANIFEST_B_CONFIG_ARTIFACT.digest: "test config b",
    REFS_MANIFEST_A_LAYER_ARTIFACT.digest: "test layer a",
    REFS_MANIFEST_B_LAYER_ARTIFACT.digest: "test layer b",
    REFS_INDEX_ARTIFACT.digest: "test index",
}

DUMMY_DIGEST = digest_of(b"hello world")
