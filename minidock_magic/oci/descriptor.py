"""Descriptors (what a manifest or index points at) and platforms."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument
from .digest import Digest

_MACHINE_TO_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
                    "armv7l": "arm", "i686": "386", "i386": "386", "ppc64le": "ppc64le",
                    "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True, slots=True)
class Platform:
    """The OS and CPU an image is built for (image-spec ``platform``)."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None

    @classmethod
    def host(cls) -> Platform:
        machine = os.uname().machine  # what platform.machine() says, without importing it
        variant = "v7" if machine == "armv7l" else ("v8" if machine == "aarch64" else None)
        return cls("linux", _MACHINE_TO_ARCH.get(machine, machine), variant)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Platform:
        return cls(data.get("os", ""), data.get("architecture", ""), data.get("variant"))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            data["variant"] = self.variant
        return data

    def matches(self, other: Platform) -> bool:
        """Same os/arch; a missing variant on either side matches any (as containerd does)."""
        return (self.os == other.os and self.architecture == other.architecture
                and (not self.variant or not other.variant or self.variant == other.variant))

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A pointer to a blob: its media type, digest and size (image-spec descriptor)."""

    media_type: str
    digest: Digest
    size: int
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    platform: Platform | None = None
    artifact_type: str | None = None
    urls: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> Descriptor:
        if not isinstance(data, dict):
            raise InvalidArgument("invalid descriptor: expected a JSON object")
        try:
            size = data["size"]
            media_type = data["mediaType"]
            digest = Digest.parse(data["digest"])
        except KeyError as missing:
            raise InvalidArgument(f"invalid descriptor: missing {missing}") from None
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidArgument(f"invalid descriptor size {size!r}")
        if not isinstance(media_type, str):
            raise InvalidArgument("invalid descriptor mediaType")
        annotations = data.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise InvalidArgument("invalid descriptor annotations")
        urls = data.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise InvalidArgument("invalid descriptor urls: expected a list of strings")
        if not isinstance(data.get("artifactType") or "", str):
            raise InvalidArgument("invalid descriptor artifactType")
        platform = data.get("platform")
        return cls(media_type, digest, size, dict(annotations),
                   Platform.from_json(platform) if isinstance(platform, dict) else None,
                   data.get("artifactType"), tuple(urls))

    def to_json(self) -> dict[str, Any]:
        # Field order follows the Go structs, so our JSON looks like everyone else's.
        data: dict[str, Any] = {"mediaType": self.media_type, "digest": str(self.digest),
                                "size": self.size}
        if self.urls:
            data["urls"] = list(self.urls)
        if self.annotations:
            data["annotations"] = dict(sorted(self.annotations.items()))
        if self.platform is not None:
            data["platform"] = self.platform.to_json()
        if self.artifact_type:
            data["artifactType"] = self.artifact_type
        return data
