"""Image manifests and indexes. Each keeps the exact bytes it was parsed from: its digest is of them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument, NotFound
from . import mediatypes as mt
from .canonical import checked_fields, dumps, loads_object
from .descriptor import Descriptor, Platform
from .digest import Digest


@dataclass(frozen=True, slots=True)
class Manifest:
    """An image manifest: its config and layers, with the exact bytes it was read from."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    raw: bytes = field(repr=False)
    annotations: dict[str, str] = field(default_factory=dict, compare=False)
    subject: Descriptor | None = None

    @classmethod
    def build(cls, config: Descriptor, layers: list[Descriptor] | tuple[Descriptor, ...], *,
              media_type: str = mt.OCI_MANIFEST,
              annotations: dict[str, str] | None = None) -> Manifest:
        data: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type,
                                "config": config.to_json(),
                                "layers": [layer.to_json() for layer in layers]}
        if annotations:
            data["annotations"] = dict(sorted(annotations.items()))
        return cls.parse(dumps(data), media_type)

    @classmethod
    def parse(cls, raw: bytes, media_type: str | None = None) -> Manifest:
        data = loads_object(raw, "manifest")
        checked_fields(data, "manifest", mediaType=str, annotations=dict, layers=list, config=dict,
                       subject=dict)
        declared = data.get("mediaType") or media_type or mt.OCI_MANIFEST
        if media_type and data.get("mediaType") and media_type != data["mediaType"]:
            raise InvalidArgument(f"manifest mediaType {data['mediaType']!r} does not match {media_type!r}")
        if declared not in mt.MANIFEST_TYPES:
            raise InvalidArgument(f"not an image manifest: {declared!r}")
        if data.get("schemaVersion") != 2:
            raise InvalidArgument("invalid manifest: schemaVersion must be 2")
        if "manifests" in data:
            raise InvalidArgument("invalid manifest: has both layers and manifests (ambiguous)")
        if "config" not in data or not isinstance(data.get("layers", []), list):
            raise InvalidArgument("invalid manifest: needs config and layers")
        subject = data.get("subject")
        return cls(declared, Descriptor.from_json(data["config"]),
                   tuple(Descriptor.from_json(d) for d in data.get("layers", [])), raw,
                   dict(data.get("annotations") or {}),
                   Descriptor.from_json(subject) if subject else None)

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    def descriptor(self, annotations: dict[str, str] | None = None) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.raw), annotations or {})


@dataclass(frozen=True, slots=True)
class Index:
    """An image index (or docker manifest list): one manifest per platform, with its bytes."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    raw: bytes = field(repr=False)
    annotations: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def build(cls, manifests: list[Descriptor], *, media_type: str = mt.OCI_INDEX,
              annotations: dict[str, str] | None = None) -> Index:
        data: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type,
                                "manifests": [d.to_json() for d in manifests]}
        if annotations:
            data["annotations"] = dict(sorted(annotations.items()))
        return cls.parse(dumps(data), media_type)

    @classmethod
    def parse(cls, raw: bytes, media_type: str | None = None) -> Index:
        data = loads_object(raw, "index")
        checked_fields(data, "index", mediaType=str, annotations=dict, manifests=list)
        declared = data.get("mediaType") or media_type or mt.OCI_INDEX
        if declared not in mt.INDEX_TYPES:
            raise InvalidArgument(f"not an image index: {declared!r}")
        if "layers" in data or "config" in data:
            raise InvalidArgument("invalid index: has both manifests and layers (ambiguous)")
        if not isinstance(data.get("manifests"), list):
            raise InvalidArgument("invalid index: needs a manifests list")
        return cls(declared, tuple(Descriptor.from_json(d) for d in data["manifests"]), raw,
                   dict(data.get("annotations") or {}))

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    def select(self, platform: Platform) -> Descriptor:
        """The manifest for ``platform`` (what a pull of a multi-arch image resolves to)."""
        for desc in self.manifests:
            if desc.platform is not None and desc.platform.matches(platform):
                return desc
        available = ", ".join(str(d.platform) for d in self.manifests if d.platform) or "none"
        raise NotFound(f"no manifest for platform {platform} (available: {available})")


def parse_any(raw: bytes, media_type: str | None = None) -> Manifest | Index:
    """A manifest or an index, decided by its media type (declared, or given by the transport)."""
    data = loads_object(raw, "manifest")
    checked_fields(data, "manifest", mediaType=str)
    declared = data.get("mediaType") or media_type
    if declared in mt.INDEX_TYPES or (declared is None and "manifests" in data):
        return Index.parse(raw, media_type)
    return Manifest.parse(raw, media_type)
