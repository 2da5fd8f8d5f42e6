"""An image as the engine sees it: names, a manifest, a config — read from the content store."""

from __future__ import annotations

from dataclasses import dataclass

from ..content.store import ContentStore
from ..errors import NotFound
from ..oci import mediatypes as mt
from ..oci.config import ImageConfig
from ..oci.descriptor import Descriptor, Platform
from ..oci.digest import Digest
from ..oci.manifest import Index, Manifest, parse_any
from ..oci.reference import Reference


@dataclass(frozen=True, slots=True, repr=False)
class Image:
    """One image. Its ID is the config digest (as in docker); its manifest digest is what a
    registry calls it (``RepoDigests``). ``repr()`` is docker SDK's ``<Image: 'busybox:latest'>``
    plus the short ID, not the manifest and config it holds."""

    names: tuple[Reference, ...]
    target: Descriptor          # what the name points at: a manifest, or an index
    manifest: Manifest          # the manifest for this host's platform
    config: ImageConfig

    @property
    def id(self) -> Digest:
        return self.config.digest

    @property
    def digest(self) -> Digest:
        return self.target.digest

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return self.manifest.layers

    @property
    def size(self) -> int:
        """Bytes of the layer blobs (what the image costs on disk and on the wire)."""
        return sum(layer.size for layer in self.manifest.layers)

    @property
    def display_name(self) -> str:
        return self.names[0].familiar if self.names else f"<none>@{self.id.short}"

    def __repr__(self) -> str:
        names = ", ".join(repr(name.familiar) for name in self.names) or "<none>"
        return f"<Image: {names} {self.id.short}>"

    def blobs(self) -> list[Descriptor]:
        """Every blob this image needs: its manifest(s), config and layers."""
        own = [self.target]
        if self.target.digest != self.manifest.digest:
            own.append(self.manifest.descriptor())
        return [*own, self.manifest.config, *self.manifest.layers]


def read_manifest(content: ContentStore, target: Descriptor,
                  platform: Platform | None = None) -> Manifest:
    """Follow an index to the manifest for ``platform`` (default: this host)."""
    document = parse_any(content.read_bytes(target.digest), target.media_type)
    if isinstance(document, Index):
        chosen = document.select(platform or Platform.host())
        return read_manifest(content, chosen, platform)
    return document


def load_image(content: ContentStore, target: Descriptor,
               names: tuple[Reference, ...] = ()) -> Image:
    manifest = read_manifest(content, target)
    if manifest.config.media_type not in mt.CONFIG_TYPES:
        raise NotFound(f"{target.digest} is not a container image (config is "
                       f"{manifest.config.media_type})")
    config = ImageConfig.parse(content.read_bytes(manifest.config.digest))
    return Image(names, target, manifest, config)
