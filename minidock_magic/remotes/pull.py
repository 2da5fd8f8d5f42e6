"""``pull``: data flow 1 — name → manifest (via an index, for this platform) → blobs → a local name.

Blobs go in first and documents last: layers and config are verified as they stream in, then the
manifest (and index) blobs, and only then the name. A pull that fails half-way leaves the layers
it finished (a retry skips them, as docker's does) and never a name pointing at missing content.

After the layers, one line says what was fetched and what the store already had, in bytes:
``Downloaded 1 layer (1.04MB); 2 already present (2.1MB)``. A caller that wants the figures passes
a ``PullReport`` (``pull(engine, name, report=PullReport())``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import InvalidArgument, Unsupported
from ..images.image import Image, load_image
from ..oci import mediatypes as mt
from ..oci.config import ImageConfig
from ..oci.descriptor import Descriptor, Platform
from ..oci.digest import Digest
from ..oci.manifest import Index, Manifest, parse_any
from ..oci.reference import Reference
from ..units import human_size
from .client import PARALLEL_LAYERS, RegistryClient, layers_at_once
from .progress import Progress
from .session import Engine, blob_sources, open_client, parse_platform
from .trace import Sink

#: An index may point at another index; real images nest at most once or twice.
MAX_NESTING = 4


@dataclass(slots=True)
class PullReport:
    """What one pull did with each layer of the image: downloaded, or already in the store (so
    not fetched). Layers only, as docker's status lines count them; the config is not counted.

    >>> from ..oci.digest import Digest
    >>> def layer(data: bytes, size: int) -> Descriptor:
    ...     return Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", Digest.of(data), size)
    >>> print(PullReport(downloaded=[layer(b"app", 1_040_000)],
    ...                  present=[layer(b"os", 1_050_000), layer(b"lib", 1_050_000)]))
    Downloaded 1 layer (1.04MB); 2 already present (2.1MB)
    """

    downloaded: list[Descriptor] = field(default_factory=list)
    present: list[Descriptor] = field(default_factory=list)

    @property
    def downloaded_bytes(self) -> int:
        return sum(d.size for d in self.downloaded)

    @property
    def present_bytes(self) -> int:
        return sum(d.size for d in self.present)

    @property
    def line(self) -> str:
        count = len(self.downloaded)
        text = f"Downloaded {count} layer{'' if count == 1 else 's'} ({human_size(self.downloaded_bytes)})"
        if self.present:
            text += f"; {len(self.present)} already present ({human_size(self.present_bytes)})"
        return text

    def __str__(self) -> str:
        return self.line


def pull(engine: Engine, text: str, *, platform: str | Platform | None = None, trace: Sink | None = None,
         quiet: bool = False, out: Sink | None = None, insecure: bool | None = None,
         report: PullReport | None = None) -> Image:
    """Pull ``text`` (``busybox``, ``127.0.0.1:5000/me/app:1``, ``name@sha256:…``) into the store.

    Status lines go to ``out`` as docker prints them; ``trace`` gets one line per HTTP exchange;
    ``report``, if given, is filled in with what happened to each layer (see ``PullReport``).
    """
    report = report if report is not None else PullReport()
    reference = Reference.parse(text)
    wanted = parse_platform(platform)
    progress = Progress(out, quiet=quiet)
    repo = reference.path
    with open_client(engine, reference.domain, trace=trace, insecure=insecure) as client:
        progress.status(f"{reference.tag or reference.digest}: Pulling from {repo}")
        target, raw = _resolve(engine, client, reference)
        documents = [(target, raw)]
        document = parse_any(raw, target.media_type)
        for _ in range(MAX_NESTING):
            if not isinstance(document, Index):
                break
            chosen = document.select(wanted)
            documents.append(client.get_manifest(repo, str(chosen.digest), expected=chosen.digest))
            document = parse_any(documents[-1][1], documents[-1][0].media_type)
        if not isinstance(document, Manifest):
            raise Unsupported(f"cannot pull {reference}: indexes nested deeper than {MAX_NESTING}")
        if document.config.media_type not in mt.CONFIG_TYPES:
            raise Unsupported(f"cannot pull {reference}: it is not a container image (its config is "
                              f"{document.config.media_type})")
        _fetch_blobs(engine, client, repo, document, progress, report, layers_at_once(trace))
        progress.status(report.line)
        for desc, data in reversed(documents):  # children before the index that lists them
            engine.content.put_bytes(data, desc.digest)
    # The store keeps what the registry calls the image (the index, whose digest `docker pull`
    # prints), unless another platform was asked for: then the name must open *that* manifest.
    named = target if wanted.matches(Platform.host()) else documents[-1][0]
    previous = _record_name(engine, reference, named)
    blob_sources(engine).add([d.digest for d, _ in documents] + [document.config.digest]
                             + [layer.digest for layer in document.layers], reference.domain, repo)
    progress.status(f"Digest: {target.digest}")
    news = "Image is up to date for" if previous is not None and previous.digest == named.digest \
        else "Downloaded newer image for"
    progress.status(f"Status: {news} {reference.familiar}")
    progress.status(str(reference))
    return load_image(engine.content, named, tuple(engine.names.names_of(named.digest)))


def _resolve(engine: Engine, client: RegistryClient, reference: Reference) -> tuple[Descriptor, bytes]:
    """GET the manifest — unless a HEAD shows the one we already have is still current."""
    local = _local_target(engine, reference)
    if local is not None and engine.content.exists(local.digest):
        remote = client.head_manifest(reference)
        if remote is not None and remote.digest == local.digest:
            return local, engine.content.read_bytes(local.digest)
    return client.resolve(reference)


def _local_target(engine: Engine, reference: Reference) -> Descriptor | None:
    if reference.digest is not None:
        return None  # a digest names immutable content: nothing to compare
    for entry in engine.names.entries():
        if entry.reference == reference:
            return entry.target
    return None


def _fetch_blobs(engine: Engine, client: RegistryClient, repo: str, manifest: Manifest,
                 progress: Progress, report: PullReport, at_once: int = PARALLEL_LAYERS) -> None:
    """The config first (checked before any layer is fetched), then the missing layers, up to
    ``at_once`` at a time; status lines in the manifest's order whatever the finishing
    order, so a pull reads the same every time."""
    config = manifest.config
    fetched = not engine.content.exists(config.digest)
    if fetched:
        _fetch(engine, client, repo, config, progress)
    _check_config(engine, manifest, fetched)
    missing: dict[Digest, Descriptor] = {}
    for layer in manifest.layers:
        if layer.digest not in missing and not engine.content.exists(layer.digest):
            missing[layer.digest] = layer
    with ThreadPoolExecutor(max(1, min(at_once, len(missing)))) as pool:
        pending = {digest: pool.submit(_fetch, engine, client, repo, layer, progress)
                   for digest, layer in missing.items()}
        try:
            for layer in manifest.layers:
                done = pending.pop(layer.digest, None)
                if done is None:  # in the store before, or a repeat of a layer fetched above
                    progress.status(f"{layer.digest.short}: Already exists")
                    if all(d.digest != layer.digest for d in report.downloaded):
                        report.present.append(layer)
                    continue
                done.result()
                progress.status(f"{layer.digest.short}: Pull complete")
                report.downloaded.append(layer)
        finally:
            for left in pending.values():  # after a failure: start no more downloads
                left.cancel()


def _fetch(engine: Engine, client: RegistryClient, repo: str, desc: Descriptor,
           progress: Progress) -> None:
    with progress.bar(desc.digest.short, desc.size) as advance:
        client.get_blob(repo, desc, engine.content.writer(desc.digest, desc.size), advance)


def _check_config(engine: Engine, manifest: Manifest, fetched: bool) -> None:
    """A config that does not parse (bad JSON, history that disagrees with the diff_ids), or
    whose diff_ids do not match the manifest's layers, is refused before any layer is fetched or
    any name recorded: named, a broken config would fail every later ``images``/``inspect`` of
    the store. A refused config this pull fetched is not kept."""
    digest = manifest.config.digest
    try:
        config = ImageConfig.parse(engine.content.read_bytes(digest))
        if len(config.diff_ids) != len(manifest.layers):
            raise InvalidArgument(f"the manifest lists {len(manifest.layers)} layers but the config "
                                  f"has {len(config.diff_ids)} diff_ids")
    except InvalidArgument as error:
        if fetched:
            engine.content.delete(digest)
        raise InvalidArgument(f"the image config {digest.short} is invalid: {error}") from None


def _record_name(engine: Engine, reference: Reference, target: Descriptor) -> Descriptor | None:
    if reference.tag is None:
        # Pulled by digest only: docker keeps it untagged, reachable as name@digest.
        engine.names.keep_untagged(target)
        return None
    name = Reference(reference.domain, reference.path, reference.tag)
    return engine.names.set(name, target)
