"""``Minidock(home)``: the Python API every frontend (CLI, magics, widgets) calls.

It wires the stores together and speaks in docker's terms; the real work is in the packages
below it (oci, content, diff, images, …).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .content.store import ContentStore

if TYPE_CHECKING:
    from .containers.service import Containers
    from .snapshots.base import Snapshotter
from .diagrams import LayerGraph, image_graph
from .errors import Conflict, InvalidArgument, NotFound
from .home import COMPRESSIONS, Layout, default_home
from .images import archive, reachability
from .images.bootstrap import bootstrap_image
from .images.changes import apply_changes
from .images.image import Image, load_image
from .images.store import ImageStore
from .images.unpack import unpack_layers
from .images.writer import (
    DEFAULT_PATH,
    layer_descriptor,
    source_date_epoch,
    store_image,
    store_tree_layer,
)
from .oci.config import History, ImageConfig, rfc3339
from .oci.descriptor import Descriptor
from .oci.digest import Digest
from .oci.reference import Reference
from .results import (
    CheckReport,
    DiskUsage,
    HistoryRow,
    ImageList,
    ImageRow,
    PruneReport,
)
from .results import History as HistoryResult

BUILTIN_BUSYBOX = Reference.parse("busybox")
STALE_TMP_SECONDS = 60


class Minidock:
    def __init__(self, home: str | Path | None = None, *, compression: str = "gzip",
                 snapshotter: str | None = None) -> None:
        if compression not in COMPRESSIONS:
            raise InvalidArgument(f"unknown compression {compression!r} (use {', '.join(COMPRESSIONS)})")
        self.layout = Layout(Path(home) if home is not None else default_home())
        self.compression = compression
        self._snapshotter_choice = snapshotter  # None: $MINIDOCK_SNAPSHOTTER, the home's, the host's
        self.content = ContentStore(self.layout.oci, tmp_dir=self.layout.tmp)
        self.names = ImageStore(self.layout.oci, self.layout.locks / "images.lock")
        self.names.initialise()

    @property
    def home(self) -> Path:
        return self.layout.home

    @functools.cached_property
    def snapshotter(self) -> Snapshotter:
        """overlay where this host can mount it (rootless too), else copy; fixed per home."""
        from .snapshots.unpack import snapshotter_for
        return snapshotter_for(self.layout, prefer=self._snapshotter_choice)

    @functools.cached_property
    def containers(self) -> Containers:
        from .containers.service import Containers
        return Containers(self.layout.containers, self.layout.locks / "containers.lock",
                          home=self.home, content=self.content, names=self.names,
                          snapshotter=lambda: self.snapshotter, image=self.image,
                          compression=self.compression, unpack=self._unpack_snapshots)

    def _unpack_snapshots(self, image: Image) -> str:
        from .snapshots.unpack import unpack
        return unpack(self.snapshotter, self.content, image)

    # -- finding images ----------------------------------------------------------------------
    def image(self, text: str) -> Image:
        """An image by name (``busybox``), name@digest, ID or ID prefix, or manifest digest.
        The built-in busybox is made on first use, with no network."""
        entries = self.names.entries()
        reference = _try_reference(text)
        if reference is not None:
            for entry in entries:
                if entry.reference is not None and (
                        (reference.digest is not None and entry.target.digest == reference.digest)
                        or (reference.digest is None and entry.reference == reference)):
                    return self._load(entry.target)
            if reference.digest is not None and self.content.exists(reference.digest):
                return self._load_by_digest(reference.digest)
            if reference == BUILTIN_BUSYBOX:
                return self.bootstrap()
        matches = {e.target.digest: e.target for e in entries if _id_matches(text, e.target.digest)}
        for entry in entries:
            image = self._load(entry.target)
            if _id_matches(text, image.id):
                matches[entry.target.digest] = entry.target
        if len(matches) > 1:
            raise InvalidArgument(f"ambiguous image ID prefix {text!r}: {len(matches)} images match")
        if matches:
            return self._load(next(iter(matches.values())))
        full = _try_digest(text)
        if full is not None and self.content.exists(full):
            try:  # an unnamed manifest: a build step, or an image pulled by digest
                return self._load_by_digest(full)
            except InvalidArgument:
                pass  # some other blob (a layer, a config nobody names)
        raise NotFound(f"No such image: {text}")

    def list_images(self) -> list[Image]:
        by_digest: dict[Digest, Descriptor] = {}
        for entry in self.names.entries():
            by_digest.setdefault(entry.target.digest, entry.target)
        return [self._load(target) for target in by_digest.values()]

    def _load(self, target: Descriptor) -> Image:
        return load_image(self.content, target, tuple(self.names.names_of(target.digest)))

    def _load_by_digest(self, digest: Digest) -> Image:
        from .oci.manifest import parse_any
        document = parse_any(self.content.read_bytes(digest))
        return self._load(Descriptor(document.media_type, digest, self.content.size(digest)))

    # -- image commands ----------------------------------------------------------------------
    def bootstrap(self) -> Image:
        """(Re)make the built-in busybox image from the host's static busybox."""
        target = bootstrap_image(self.content, self.layout.tmp, compression=self.compression)
        self.names.set(BUILTIN_BUSYBOX, target)
        return self._load(target)

    def images(self) -> ImageList:
        images = self.list_images()
        users = Counter(digest for image in images for digest in {lay.digest for lay in image.layers})
        rows = []
        for image in images:
            layers = {layer.digest: layer.size for layer in image.layers}
            shared = sum(size for digest, size in layers.items() if users[digest] > 1)
            for name in image.names or (None,):
                rows.append(ImageRow(name.familiar_repository if name else "<none>",
                                     (name.tag or "<none>") if name else "<none>", image.id,
                                     image.digest, image.config.created, image.size, shared,
                                     image.size - shared))
        rows.sort(key=lambda r: (r.repository, r.tag))
        return ImageList(rows)

    def tag(self, source: str, target: str) -> Image:
        image = self.image(source)
        self.names.set(Reference.parse(target), image.target)
        return self._load(image.target)

    def rmi(self, text: str, *, force: bool = False) -> list[str]:
        """docker's rmi: untag a name; when no name is left, delete the image and the blobs
        nothing else needs. By ID with several names, only with ``force``."""
        image = self.image(text)
        reference = _try_reference(text)
        by_name = reference is not None and reference in image.names
        if not by_name and len(image.names) > 1 and not force:
            raise Conflict(f"unable to delete {image.id.short} (must be forced) - image is referenced "
                           f"in multiple repositories")
        in_use = self._images_in_use()
        if image.digest in in_use and (not by_name or len(image.names) <= 1) and not force:
            raise Conflict(f"unable to delete {image.id.short}: a container is using it "
                           "(remove the container first, or use -f)")
        untag = [reference] if by_name else list(image.names)
        report = []
        for name in untag:
            self.names.remove(name, image.digest)
            report.append(f"Untagged: {name.familiar}")
        if not self.names.names_of(image.digest):
            self.names.remove(None, image.digest)
            freed = self._collect(exclude_roots={image.digest} if image.digest not in in_use else set())
            report += [f"Deleted: {d}" for d in freed]
        return report

    def image_inspect(self, text: str) -> dict[str, Any]:
        image = self.image(text)
        config = image.config
        return {
            "Id": str(image.id),
            "RepoTags": [n.familiar for n in image.names],
            "RepoDigests": sorted({f"{n.familiar_repository}@{image.digest}" for n in image.names}),
            "Parent": "",
            "Comment": (config.history[-1].comment or "") if config.history else "",
            "Created": config.created,
            "Author": config.data.get("author", ""),
            "Config": config.run,
            "Architecture": config.platform.architecture,
            "Os": config.platform.os,
            "Size": image.size,
            "RootFS": {"Type": "layers", "Layers": [str(d) for d in config.diff_ids]},
            "Descriptor": image.target.to_json(),
            "Layers": [layer.to_json() for layer in image.layers],
            "ChainIDs": [str(c) for c in config.chain_ids],
        }

    def history(self, text: str) -> HistoryResult:
        image = self.image(text)
        by_diff_id = dict(zip(image.config.diff_ids, image.layers))
        rows = []
        pairs = image.config.layer_history()
        for position, (step, diff_id) in enumerate(reversed(pairs)):
            layer = by_diff_id.get(diff_id) if diff_id else None
            rows.append(HistoryRow(image.id.short if position == 0 else "<missing>", step.created,
                                   step.created_by or "", layer.size if layer else 0,
                                   step.comment or "", layer.digest if layer else None))
        return HistoryResult(rows)

    def save(self, texts: list[str], out: BinaryIO) -> None:
        if not texts:
            raise InvalidArgument("save needs at least one image")
        chosen: dict[Digest, Image] = {}
        for text in texts:
            image = self.image(text)
            reference = _try_reference(text)
            names = (reference,) if reference is not None and reference in image.names else image.names
            previous = chosen.get(image.digest)
            merged = tuple(dict.fromkeys((*(previous.names if previous else ()), *names)))
            chosen[image.digest] = Image(merged, image.target, image.manifest, image.config)
        archive.save(self.content, list(chosen.values()), out, epoch=source_date_epoch(0))

    def load(self, source: BinaryIO) -> list[str]:
        if not source.seekable():  # a pipe: archives are read by member, so spool it first
            self.layout.tmp.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.layout.tmp) as spool:
                shutil.copyfileobj(source, spool, 1 << 20)
                spool.seek(0)
                return self.load(spool)
        loaded = archive.load(self.content, source)
        report = []
        for item in loaded:
            image = load_image(self.content, item.target)
            for name in item.names:
                self.names.set(name, item.target)
                report.append(f"Loaded image: {name.familiar}")
            if not item.names:
                self.names.keep_untagged(item.target)
                report.append(f"Loaded image ID: {image.id}")
        return report

    def import_image(self, source: str | Path, reference: str | None = None, *,
                     message: str | None = None, changes: list[str] | None = None) -> Image:
        """docker import: a rootfs (directory, or tarball of one) becomes a one-layer image. A
        tarball is extracted safely first, so whatever it holds lands in a clean, normalised layer."""
        source = Path(source)
        epoch = source_date_epoch()
        self.layout.tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.layout.tmp, prefix="import-") as scratch:
            if source.is_dir():
                root = source
            elif source.is_file():
                root = Path(scratch)
                with open(source, "rb") as stream:
                    from .diff.apply import apply_layer
                    apply_layer(stream, root)
            else:
                raise NotFound(f"import source {source} does not exist")
            layer = store_tree_layer(self.content, root, compression=self.compression, epoch=epoch)
        created = rfc3339(epoch)
        config = ImageConfig.create(
            diff_ids=[layer.diff_id],
            history=[History(created=created, created_by=f"minidock import {source.name}",
                             comment=message or "Imported from " + source.name)],
            run=apply_changes({"Env": [f"PATH={DEFAULT_PATH}"]}, changes or []),
            created=created)
        target = store_image(self.content, config, [layer_descriptor(layer)])
        if reference:
            self.names.set(Reference.parse(reference), target)
        else:
            self.names.keep_untagged(target)
        return self._load(target)

    def unpack(self, text: str, dest: str | Path) -> Path:
        """Apply an image's layers, in order, into ``dest`` (what a container's rootfs starts as)."""
        image = self.image(text)
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        unpack_layers(self.content, image, dest)
        return dest

    def graph(self, texts: list[str] | None = None) -> LayerGraph:
        """Images over their layer stacks, shared layers drawn once, containers on top."""
        images = [self.image(t) for t in texts] if texts else self.list_images()
        chosen = {image.digest for image in images}
        containers = [(c.name, self._load(Descriptor.from_json(c.image_target)))
                      for c in self.containers.store.list()
                      if Descriptor.from_json(c.image_target).digest in chosen]
        return image_graph(images, containers)

    def build(self, context: str | Path | None, dockerfile_text: str | None = None,
              **options: Any) -> Image:
        """docker build: one layer per step, a visible cache, reproducible digests."""
        from .build import build
        return build(self, context, dockerfile_text, **options)

    # -- registries (remotes is imported on use: httpx costs ~100 ms of every command) -----
    def pull(self, text: str, **options: Any) -> Image:
        from .remotes.pull import pull
        return pull(self, text, **options)

    def push(self, text: str, **options: Any) -> Digest:
        from .remotes.push import push
        return push(self, text, **options)

    def login(self, server: str, username: str, password: str, **options: Any) -> str:
        from .remotes.account import login
        return login(self, server, username, password, **options)

    def logout(self, server: str | None = None) -> str:
        from .remotes.account import logout
        return logout(self, server)

    # -- the store as a whole ----------------------------------------------------------------
    def _roots(self) -> list[Descriptor]:
        return [entry.target for entry in self.names.entries()] + self._container_roots()

    def _container_roots(self) -> list[Descriptor]:
        return self.containers.image_roots()  # a container keeps its image's blobs alive

    def _images_in_use(self) -> set[Digest]:
        return {root.digest for root in self._container_roots()}

    def _collect(self, exclude_roots: set[Digest] = frozenset()) -> list[Digest]:  # type: ignore[assignment]
        reachable = reachability.walk(self.content, [r for r in self._roots()
                                                     if r.digest not in exclude_roots])
        freed = []
        for blob in list(self.content.walk()):
            if blob.digest not in reachable.present:
                self.content.delete(blob.digest)
                freed.append(blob.digest)
        return freed

    def system_check(self) -> CheckReport:
        reachable = reachability.walk(self.content, self._roots())
        blobs = list(self.content.walk())
        return CheckReport(
            blobs=len(blobs),
            corrupt=[b.digest for b in blobs if not self.content.verify(b.digest)],
            missing=reachable.missing,
            dangling=[b.digest for b in blobs if b.digest not in reachable.present],
            unreadable=reachable.unreadable)

    def system_prune(self, *, all_images: bool = False) -> PruneReport:
        """Drop untagged images (all unused ones with ``all_images``), then every blob that
        nothing references, and stale temp files a crash may have left."""
        untagged = []
        in_use = self._images_in_use()
        for entry in self.names.entries():
            if entry.target.digest in in_use:
                continue
            if entry.reference is None or all_images:
                self.names.remove(entry.reference, entry.target.digest)
                untagged.append(entry.reference.familiar if entry.reference else str(entry.target.digest))
        sizes = {b.digest: b.size for b in self.content.walk()}
        deleted = self._collect()
        freed = sum(sizes[d] for d in deleted)
        if self.layout.tmp.is_dir():
            cutoff = time.time() - STALE_TMP_SECONDS
            for stale in self.layout.tmp.iterdir():
                if stale.lstat().st_mtime < cutoff:  # younger ones may be a live ingest
                    freed += _remove(stale)
        return PruneReport(deleted, untagged, freed)

    def system_df(self) -> DiskUsage:
        images = self.list_images()
        users: Counter[Digest] = Counter()
        for image in images:
            for digest in {b.digest for b in image.blobs()}:
                users[digest] += 1
        sizes = {b.digest: b.size for b in self.content.walk()}
        return DiskUsage(
            images=len(images), blobs=len(sizes), total=sum(sizes.values()),
            shared=sum(s for d, s in sizes.items() if users[d] > 1),
            unique=sum(s for d, s in sizes.items() if users[d] == 1),
            unused=sum(s for d, s in sizes.items() if users[d] == 0))

    def info(self) -> dict[str, Any]:
        from .runtime import probe_host
        host = probe_host()
        return {"home": str(self.home), "store": str(self.layout.oci), "compression": self.compression,
                "images": len(self.list_images()), "blobs": sum(1 for _ in self.content.walk()),
                "isolation": host.default_isolation().value if host.default_isolation() else "none",
                "host": host.describe()}


def _try_reference(text: str) -> Reference | None:
    try:
        return Reference.parse(text)
    except InvalidArgument:
        return None


def _try_digest(text: str) -> Digest | None:
    try:
        return Digest.parse(text)
    except InvalidArgument:
        return None


def _id_matches(text: str, digest: Digest) -> bool:
    hexpart = text.removeprefix(f"{digest.algorithm}:")
    return len(hexpart) >= 4 and all(c in "0123456789abcdef" for c in hexpart) \
        and digest.encoded.startswith(hexpart)


def _remove(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path)
            return size
        size = path.lstat().st_size
        os.unlink(path)
        return size
    except FileNotFoundError:
        return 0

