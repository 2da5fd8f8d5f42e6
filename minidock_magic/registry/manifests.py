"""What a registry checks before it accepts a pushed manifest, as pure functions over bytes.

>>> import json
>>> body = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
...     "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
...                "digest": "sha256:" + "c" * 64, "size": 2},
...     "layers": []}).encode()
>>> info = validate(body, OCI_MANIFEST)
>>> info.media_type == OCI_MANIFEST, len(info.blobs), info.artifact_type
(True, 1, 'application/vnd.oci.image.config.v1+json')
>>> validate(body, OCI_INDEX)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
minidock_magic.errors.InvalidArgument: Content-Type ... does not match the manifest's mediaType ...
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument, TooLarge
from ..oci.digest import Digest
from ..oci.mediatypes import INDEX_TYPES, OCI_INDEX, OCI_MANIFEST
from ..oci.mediatypes import MANIFEST_TYPES as IMAGE_TYPES

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MANIFEST_TYPES = IMAGE_TYPES | INDEX_TYPES  # everything a manifest endpoint accepts


def _invalid(message: str) -> InvalidArgument:
    return InvalidArgument(message, code="MANIFEST_INVALID")


@dataclass(frozen=True, slots=True)
class ManifestInfo:
    """The facts about a manifest the registry acts on (its bytes stay the caller's; the digest is of them)."""

    media_type: str
    digest: Digest
    size: int
    #: config and layers (image manifest): blobs that must already be in the repository.
    blobs: tuple[Digest, ...] = ()
    #: child manifests (index): manifests that must already be in the repository.
    manifests: tuple[Digest, ...] = ()
    subject: Digest | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    def referrer_descriptor(self) -> dict[str, Any]:
        """This manifest as an entry of its subject's referrers index (spec: "Listing Referrers")."""
        entry: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest), "size": self.size}
        if self.artifact_type:
            entry["artifactType"] = self.artifact_type
        if self.annotations:
            entry["annotations"] = self.annotations
        return entry


def media_type_of(content_type: str | None) -> str | None:
    """The bare media type of a Content-Type header (parameters dropped).

    >>> media_type_of("application/vnd.oci.image.index.v1+json; charset=utf-8")
    'application/vnd.oci.image.index.v1+json'
    """
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def _descriptor(value: Any, where: str) -> tuple[str, Digest, int]:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise _invalid(f"{where}.mediaType must be a non-empty string")
    if not isinstance(digest, str):
        raise _invalid(f"{where}.digest must be a string")
    try:
        parsed = Digest.parse(digest)
    except InvalidArgument:
        raise _invalid(f"{where}.digest {digest[:80]!r} is not a valid digest") from None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}.size must be a non-negative integer")
    return media_type, parsed, size


def _is_foreign(layer: Any) -> bool:
    """A non-distributable layer fetched from its ``urls`` (Windows base layers): never pushed here."""
    return (isinstance(layer, dict) and bool(layer.get("urls"))
            and any(word in str(layer.get("mediaType", "")) for word in ("foreign", "nondistributable")))


def _detect_type(doc: dict[str, Any], content_type: str | None) -> str:
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise _invalid("mediaType must be a string")
    if content_type and declared and content_type != declared:
        raise _invalid(f"Content-Type {content_type} does not match the manifest's mediaType {declared}")
    media_type = content_type or declared
    if media_type is None:  # neither says: only an unambiguous shape may be guessed
        media_type = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if media_type not in MANIFEST_TYPES:
        raise _invalid(f"unsupported manifest media type {media_type[:120]!r}")
    return media_type


def validate(body: bytes, content_type: str | None) -> ManifestInfo:
    """Check a pushed manifest's size, JSON, media type and shape; raise the error to answer if bad."""
    if len(body) > MAX_MANIFEST_BYTES:
        raise TooLarge(f"manifest is {len(body)} bytes; the limit is {MAX_MANIFEST_BYTES}")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _invalid("manifest is not valid JSON") from None
    except RecursionError:  # '[[[[…' a few kB deep: json gives up with this, not ValueError
        raise _invalid("manifest is not valid JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise _invalid("manifest must be a JSON object")
    if "manifests" in doc and ("layers" in doc or "config" in doc):
        raise _invalid("ambiguous manifest: it has both 'manifests' and 'layers'/'config'")
    media_type = _detect_type(doc, media_type_of(content_type))
    if doc.get("schemaVersion") != 2:
        raise _invalid("schemaVersion must be 2")
    artifact_type = doc.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise _invalid("artifactType must be a string")
    annotations = doc.get("annotations") or {}
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise _invalid("annotations must be an object of strings")
    blobs: list[Digest] = []
    children: list[Digest] = []
    if media_type in IMAGE_TYPES:
        config_type, config_digest, _ = _descriptor(doc.get("config"), "config")
        layers = doc.get("layers", [])
        if not isinstance(layers, list):
            raise _invalid("layers must be a list")
        blobs = [config_digest] + [_descriptor(layer, f"layers[{i}]")[1] for i, layer in enumerate(layers)
                                   if not _is_foreign(layer)]
        artifact_type = artifact_type or config_type
    else:
        manifests = doc.get("manifests")
        if not isinstance(manifests, list):
            raise _invalid("an index must have a 'manifests' list")
        children = [_descriptor(child, f"manifests[{i}]")[1] for i, child in enumerate(manifests)]
    subject = None
    if doc.get("subject") is not None and media_type in (OCI_MANIFEST, OCI_INDEX):
        subject = _descriptor(doc["subject"], "subject")[1]
    return ManifestInfo(media_type, Digest.of(body), len(body), tuple(blobs), tuple(children), subject,
                        artifact_type, dict(annotations))


def check_references(info: ManifestInfo, has_blob: Callable[[Digest], bool],
                     has_manifest: Callable[[Digest], bool]) -> None:
    """Every blob and child manifest must already be in the repository (spec: MANIFEST_BLOB_UNKNOWN)."""
    for digest in info.blobs:
        if not has_blob(digest):
            raise InvalidArgument(f"manifest references blob {digest} which is not in this repository",
                                  code="MANIFEST_BLOB_UNKNOWN")
    for digest in info.manifests:
        if not has_manifest(digest):
            raise InvalidArgument(f"index references manifest {digest} which is not in this repository",
                                  code="MANIFEST_BLOB_UNKNOWN")


def referenced_digests(body: bytes) -> tuple[set[str], set[str]]:
    """What a stored manifest points at, leniently: (blobs: config and layers, manifests: children and subject).

    Garbage collection marks with this, so it never raises: an unreadable manifest marks nothing.

    >>> referenced_digests(b'{"config": {"digest": "sha256:1"}, "manifests": [{"digest": "sha256:2"}, 7]}')
    ({'sha256:1'}, {'sha256:2'})
    """
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return set(), set()
    if not isinstance(doc, dict):
        return set(), set()

    def digests(*values: Any) -> set[str]:
        found = [d for v in values for d in (v if isinstance(v, list) else [v])]
        return {d["digest"] for d in found if isinstance(d, dict) and isinstance(d.get("digest"), str)}

    return digests(doc.get("config"), doc.get("layers")), digests(doc.get("manifests"), doc.get("subject"))
