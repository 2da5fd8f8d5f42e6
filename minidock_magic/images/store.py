"""Names -> manifest descriptors, kept as the ``index.json`` of an OCI image layout.

The home's ``oci/`` directory is a complete image layout (``oci-layout``, ``index.json``,
``blobs/``), so ``skopeo copy oci:$MINIDOCK_HOME/oci:docker.io/library/busybox:latest …`` and
``umoci`` read our images directly. Each name is one entry of ``index.json`` whose
``org.opencontainers.image.ref.name`` annotation is the full normalised reference; entries with no
name are untagged ("dangling") images that something still keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..content.atomic import atomic_write_bytes, locked, private_dir
from ..errors import InvalidArgument, NotFound
from ..oci import mediatypes as mt
from ..oci.canonical import dumps, loads_object
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from ..oci.reference import Reference

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


@dataclass(frozen=True, slots=True)
class NamedTarget:
    """One ``index.json`` entry: a name (or None for an untagged image) and its manifest."""

    reference: Reference | None
    target: Descriptor


class ImageStore:
    def __init__(self, layout: Path, lock_path: Path) -> None:
        self.layout = Path(layout)
        self._lock_path = lock_path

    def initialise(self) -> None:
        private_dir(self.layout)
        if not (self.layout / "oci-layout").exists():
            atomic_write_bytes(self.layout / "oci-layout",
                               dumps({"imageLayoutVersion": mt.OCI_LAYOUT_VERSION}))
        if not (self.layout / "index.json").exists():
            self._write([])

    # -- reading -------------------------------------------------------------------------------
    def entries(self) -> list[NamedTarget]:
        try:
            raw = (self.layout / "index.json").read_bytes()
        except FileNotFoundError:
            return []
        data = loads_object(raw, "index.json")
        entries = []
        for item in data.get("manifests", []):
            desc = Descriptor.from_json(item)
            name = desc.annotations.get(CONTAINERD_NAME) or desc.annotations.get(REF_NAME)
            entries.append(NamedTarget(_parse_name(name), desc))
        return entries

    def get(self, reference: Reference) -> Descriptor:
        for entry in self.entries():
            if entry.reference == reference:
                return entry.target
        raise NotFound(f"No such image: {reference.familiar}", code="MANIFEST_UNKNOWN")

    def names_of(self, digest: Digest) -> list[Reference]:
        return [e.reference for e in self.entries() if e.target.digest == digest and e.reference]

    # -- writing -------------------------------------------------------------------------------
    def set(self, reference: Reference, target: Descriptor, *, rewrite: bool = False) -> Descriptor | None:
        """Point ``reference`` at ``target``; returns what it pointed at before (if anything).
        ``rewrite`` writes the index even when no entry changes: a ``load`` leaves its time
        there, which lesson 3's repair check reads (was the image loaded after the damage?)."""
        if reference.tag is None:
            raise InvalidArgument(f"cannot name an image without a tag: {reference}")
        with locked(self._lock_path):
            entries = self.entries()
            previous = next((e.target for e in entries if e.reference == reference), None)
            kept = [e for e in entries if e.reference != reference
                    and not (e.reference is None and e.target.digest == target.digest)]
            kept.append(NamedTarget(reference, _bare(target)))
            # A re-pull of an image that is up to date (or a tag that is already there) changes
            # no entry: the file, its two fsyncs and its readers are left alone.
            if rewrite or len(kept) != len(entries) or previous is None or _bare(previous) != _bare(target):
                self._write(kept)
        return previous

    def keep_untagged(self, target: Descriptor) -> None:
        """Record an image with no name (docker's ``<none>``), unless some name already holds it."""
        with locked(self._lock_path):
            entries = self.entries()
            if any(e.target.digest == target.digest for e in entries):
                return
            self._write([*entries, NamedTarget(None, _bare(target))])

    def remove(self, reference: Reference | None, digest: Digest) -> None:
        with locked(self._lock_path):
            self._write([e for e in self.entries()
                         if not (e.reference == reference and e.target.digest == digest)])

    def _write(self, entries: list[NamedTarget]) -> None:
        manifests = []
        for entry in sorted(entries, key=lambda e: (str(e.reference or ""), str(e.target.digest))):
            annotations = dict(entry.target.annotations)
            if entry.reference is not None:
                annotations[CONTAINERD_NAME] = str(entry.reference)
                annotations[REF_NAME] = str(entry.reference)
            manifests.append(Descriptor(entry.target.media_type, entry.target.digest,
                                        entry.target.size, annotations).to_json())
        index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": manifests}
        atomic_write_bytes(self.layout / "index.json", dumps(index))


def _bare(target: Descriptor) -> Descriptor:
    annotations = {k: v for k, v in target.annotations.items() if k not in (REF_NAME, CONTAINERD_NAME)}
    return Descriptor(target.media_type, target.digest, target.size, annotations)


def _parse_name(name: str | None) -> Reference | None:
    if not name:
        return None
    try:
        return Reference.parse(name)
    except InvalidArgument:
        return None  # a ref.name written by another tool (e.g. a bare tag): shown as untagged
