"""``push``: data flow 5 — for each blob: HEAD (skip) → cross-repo mount → upload; then the manifest.

The first blob goes alone, then up to ``PARALLEL_LAYERS`` at once (one at a time when traced);
status lines and the report follow the manifest's order whatever the finishing order, so a push
reads the same every time.

Blobs first, manifest last: a registry accepts a manifest only when every blob it lists is already
there, so the order is the protocol's, not a choice. The manifest goes up byte for byte as stored,
so the registry computes the very digest we have.

At the end, one line says what deduplication saved, in bytes: ``Pushed 1 layer (1.04MB sent); 2
mounted from other repositories (2.1MB); 1 already present (1.04MB skipped)``. A caller that wants
the figures passes a ``PushReport`` (``push(engine, name, report=PushReport())``).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import InvalidArgument, NotFound
from ..oci.descriptor import Descriptor, Platform
from ..oci.digest import Digest
from ..oci.manifest import Index, parse_any
from ..oci.reference import Reference
from ..units import human_size
from .client import PARALLEL_LAYERS, RegistryClient, layers_at_once
from .progress import Progress
from .records import BlobSources
from .session import Engine, blob_sources, open_client
from .trace import Sink

#: Mount attempts per blob before uploading it: each refused mount is one wasted round trip.
MAX_MOUNT_TRIES = 3


def _layers(count: int) -> str:
    return f"{count} layer" if count == 1 else f"{count} layers"


@dataclass(slots=True)
class PushReport:
    """What one push did with each layer: sent, mounted from another repository, or skipped
    because the registry already had it. It fills in as the push goes, so after a failure it
    shows how far the push got.

    Layers only, as docker's status lines count them: the config and the manifest (a few hundred
    bytes each) are not counted. A layer two platforms of an index share counts once.

    >>> from ..oci.digest import Digest
    >>> def layer(data: bytes, size: int) -> Descriptor:
    ...     return Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", Digest.of(data), size)
    >>> report = PushReport(sent=[layer(b"app", 1_040_000)], present=[layer(b"ca", 1_040_000)],
    ...                     mounted=[(layer(b"os", 1_050_000), "a/os"), (layer(b"lib", 1_050_000), "a/lib")])
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    Pushed 1 layer (1.04MB sent); 2 mounted from other repositories (2.1MB);
    1 already present (1.04MB skipped)
    >>> PushReport().line
    'Pushed 0 layers (0B sent)'
    """

    sent: list[Descriptor] = field(default_factory=list)
    #: Each mounted layer with the repository it was mounted from.
    mounted: list[tuple[Descriptor, str]] = field(default_factory=list)
    present: list[Descriptor] = field(default_factory=list)

    @property
    def sent_bytes(self) -> int:
        return sum(d.size for d in self.sent)

    @property
    def mounted_bytes(self) -> int:
        return sum(d.size for d, _ in self.mounted)

    @property
    def present_bytes(self) -> int:
        return sum(d.size for d in self.present)

    @property
    def line(self) -> str:
        parts = [f"Pushed {_layers(len(self.sent))} ({human_size(self.sent_bytes)} sent)"]
        if self.mounted:
            where = "another repository" if len(self.mounted) == 1 else "other repositories"
            parts.append(f"{len(self.mounted)} mounted from {where} ({human_size(self.mounted_bytes)})")
        if self.present:
            parts.append(f"{len(self.present)} already present ({human_size(self.present_bytes)} skipped)")
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.line

    def counted(self, digest: Digest) -> bool:
        return any(d.digest == digest for d in (*self.sent, *(d for d, _ in self.mounted), *self.present))


@dataclass
class _Push:
    engine: Engine
    client: RegistryClient
    repo: str
    sources: BlobSources
    progress: Progress
    report: PushReport
    at_once: int = PARALLEL_LAYERS

    def place(self, desc: Descriptor) -> tuple[str, str | None]:
        """Get one blob into the repository: "present" already, "mounted" from another of this
        registry's repositories (returned as the second item), or "sent"."""
        if self.client.has_blob(self.repo, desc.digest):
            return "present", None
        for source in self.sources.mount_sources(desc.digest, self.client.host, self.repo)[:MAX_MOUNT_TRIES]:
            if self.client.mount_blob(self.repo, desc.digest, source):
                return "mounted", source
        with self.engine.content.open(desc.digest) as stream, \
                self.progress.bar(desc.digest.short, desc.size) as advance:
            self.client.push_blob(self.repo, desc, stream, advance)
        return "sent", None

    def place_all(self, blobs: list[Descriptor]) -> Iterator[tuple[Descriptor, str, str | None]]:
        """``place`` each blob, yielding what happened to each in the given order as soon as it
        is known. The first goes alone (it meets the registry's auth challenge, so one token
        serves the rest), then up to ``at_once`` at a time, as skopeo does. A blob listed twice
        is placed once and "present" after."""
        unique = list({desc.digest: desc for desc in blobs}.values())
        yield (blobs[0], *self.place(blobs[0]))
        with ThreadPoolExecutor(max(1, min(self.at_once, len(unique) - 1))) as pool:
            pending = {desc.digest: pool.submit(self.place, desc) for desc in unique[1:]}
            try:
                for desc in blobs[1:]:
                    done = pending.pop(desc.digest, None)
                    yield (desc, *done.result()) if done is not None else (desc, "present", None)
            finally:
                for left in pending.values():  # after a failure: start no more uploads
                    left.cancel()

    def record(self, desc: Descriptor, how: str, source: str | None) -> None:
        """A layer's status line and its place in the report, in the manifest's order."""
        short = desc.digest.short
        self.progress.status({"present": f"{short}: Layer already exists",
                              "mounted": f"{short}: Mounted from {source}",
                              "sent": f"{short}: Pushed"}[how])
        if self.report.counted(desc.digest):
            return
        if how == "mounted":
            self.report.mounted.append((desc, source or ""))
        else:
            (self.report.present if how == "present" else self.report.sent).append(desc)

    def document(self, desc: Descriptor, tag: str | None) -> tuple[Digest, int, list[Digest]]:
        """Push a manifest (its blobs first) or an index (its manifests first); returns the digest,
        the size, and every digest now in the repository because of it."""
        raw = self.engine.content.read_bytes(desc.digest)
        document = parse_any(raw, desc.media_type)
        pushed: list[Digest] = []
        if isinstance(document, Index):
            missing = [c for c in document.manifests if not self.engine.content.exists(c.digest)]
            if missing:
                # We pulled one platform of a multi-platform image; a registry refuses an index
                # whose manifests it lacks, so push the one we have under the tag (docker did too).
                mine = document.select(Platform.host())
                self.progress.status(f"only {mine.platform} of this multi-platform image is here: "
                                     "pushing that manifest, not the index")
                return self.document(mine, tag)
            for child in document.manifests:
                pushed += self.document(child, None)[2]
        else:
            blobs = [*document.layers, document.config]
            for blob, how, source in self.place_all(blobs):
                if blob is not document.config:
                    self.record(blob, how, source)
                pushed.append(blob.digest)
        digest = self.client.put_manifest(self.repo, tag or str(desc.digest), raw, document.media_type)
        return digest, len(raw), [*pushed, digest]


def push(engine: Engine, text: str, *, trace: Sink | None = None, quiet: bool = False,
         out: Sink | None = None, insecure: bool | None = None, report: PushReport | None = None) -> Digest:
    """Push the local image named ``text`` to the registry its name points at.

    ``report``, if given, is filled in with what happened to each layer (see ``PushReport``).
    """
    reference = Reference.parse(text)
    if reference.tag is None:
        raise InvalidArgument(f"push needs a tag: {reference.familiar_repository}:TAG")
    name = Reference(reference.domain, reference.path, reference.tag)
    target = next((e.target for e in engine.names.entries() if e.reference == name), None)
    if target is None:
        raise NotFound(f"An image does not exist locally with the tag: {name.familiar} "
                       f"(tag one first: minidock tag IMAGE {name.familiar})")
    progress = Progress(out, quiet=quiet)
    progress.status(f"The push refers to repository [{name.repository}]")
    sources = blob_sources(engine)
    with open_client(engine, name.domain, trace=trace, insecure=insecure) as client:
        client.intend(f"repository:{name.path}:pull,push")
        report = report if report is not None else PushReport()
        work = _Push(engine, client, name.path, sources, progress, report, layers_at_once(trace))
        digest, size, pushed = work.document(target, name.tag)
    sources.add(pushed, name.domain, name.path)
    progress.status(report.line)
    progress.status(f"{name.tag}: digest: {digest} size: {size}")
    return digest
