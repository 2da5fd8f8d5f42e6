"""``Minidock(home)``: the Python API every frontend (CLI, magics, widgets) calls.

It wires the stores together and speaks in docker's terms; the real work is in the packages
below it (oci, content, diff, images, …).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from .content.atomic import private_dir
from .content.store import ContentStore
from .errors import Conflict, InvalidArgument, NotFound
from .home import COMPRESSIONS, Layout, default_home
from .images import lookup
from .images.image import Image, load_image
from .images.store import ImageStore, NamedTarget
from .oci.descriptor import Descriptor
from .oci.digest import Digest
from .oci.reference import Reference

# What only some commands need is imported by them: a CLI process runs one command, and the
# whole engine costs tens of milliseconds to import (results and diagrams, tar archives, layer
# writing and applying, maintenance) on top of what finding an image and running it needs.
if TYPE_CHECKING:
    from .containers.service import Containers
    from .diagrams import LayerGraph
    from .oci.config import ImageConfig
    from .oci.manifest import Manifest
    from .results import CheckReport, DiskUsage, ImageList, PruneReport
    from .results import History as HistoryTable
    from .snapshots.base import Snapshotter

BUILTIN_BUSYBOX = Reference.parse("busybox")


class Minidock:
    def __init__(self, home: str | Path | None = None, *, compression: str = "gzip",
                 snapshotter: str | None = None) -> None:
        if compression not in COMPRESSIONS:
            raise InvalidArgument(f"unknown compression {compression!r} (use {', '.join(COMPRESSIONS)})")
        self.layout = Layout(Path(home) if home is not None else default_home())
        private_dir(self.layout.home)  # 0700 when new: nobody else's to read (content.atomic)
        self.compression = compression
        self._snapshotter_choice = snapshotter  # None: $MINIDOCK_SNAPSHOTTER, the home's, the host's
        self.content = ContentStore(self.layout.oci, tmp_dir=self.layout.tmp)
        self.names = ImageStore(self.layout.oci, self.layout.locks / "images.lock")
        #: Parsed manifest and config by target (``_load``).
        self._parsed: dict[tuple[Digest, str], tuple[Manifest, ImageConfig]] = {}
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
        reference = lookup.try_reference(text)
        target = None
        if reference is not None:
            target = lookup.by_name(entries, reference) or \
                lookup.unnamed_manifest(self.content, reference.digest)
            if target is None and reference == BUILTIN_BUSYBOX:
                return self.bootstrap()
        target = target or lookup.by_id(entries, text, lambda t: self._load(t, entries).id) or \
            lookup.unnamed_manifest(self.content, lookup.try_digest(text))
        if target is None:
            raise NotFound(f"No such image: {text}")
        return self._load(target, entries)

    def list_images(self) -> list[Image]:
        by_digest: dict[Digest, Descriptor] = {}
        for entry in self.names.entries():
            by_digest.setdefault(entry.target.digest, entry.target)
        return [self._load(target) for target in by_digest.values()]

    def _load(self, target: Descriptor, entries: list[NamedTarget] | None = None) -> Image:
        """The image ``target`` names, with its names from ``entries`` (None: read them now).
        Its manifest and config are parsed once per process: a digest names the same bytes
        for ever, so nothing (rmi, tag, another process) can make them stale; what names
        the image is looked up every time."""
        if entries is None:
            names = tuple(self.names.names_of(target.digest))
        else:
            names = tuple(e.reference for e in entries
                          if e.target.digest == target.digest and e.reference)
        key = (target.digest, target.media_type)
        parsed = self._parsed.get(key)
        if parsed is None:
            image = load_image(self.content, target, names)
            self._parsed[key] = (image.manifest, image.config)
            return image
        return Image(names, target, *parsed)

    # -- image commands ----------------------------------------------------------------------
    def bootstrap(self) -> Image:
        """(Re)make the built-in busybox image from the host's static busybox."""
        from .images.bootstrap import bootstrap_image
        target = bootstrap_image(self.content, self.layout.tmp, compression=self.compression)
        self.names.set(BUILTIN_BUSYBOX, target)
        return self._load(target)

    def images(self) -> ImageList:
        from .images import describe
        from .results import ImageList
        return ImageList(describe.image_rows(self.list_images()))

    def tag(self, source: str, target: str) -> Image:
        image = self.image(source)
        self.names.set(Reference.parse(target), image.target)
        return self._load(image.target)

    def rmi(self, text: str, *, force: bool = False) -> list[str]:
        """docker's rmi: untag a name; when no name is left, delete the image and the blobs
        nothing else needs. By ID with several names, only with ``force``."""
        image = self.image(text)
        reference = lookup.try_reference(text)
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
            from .images import maintenance
            self.names.remove(None, image.digest)
            freed = maintenance.collect(self.content, [r for r in self._roots()
                                                       if r.digest != image.digest or r.digest in in_use])
            report += [f"Deleted: {d}" for d in freed]
        return report

    def image_inspect(self, text: str) -> dict[str, Any]:
        from .images import describe
        return describe.inspect(self.image(text))

    def history(self, text: str) -> HistoryTable:
        from .images import describe
        from .results import History
        return History(describe.history_rows(self.image(text)))

    def save(self, texts: list[str], out: BinaryIO) -> None:
        from .images import archive
        from .images.writer import source_date_epoch
        if not texts:
            raise InvalidArgument("save needs at least one image")
        chosen: dict[Digest, Image] = {}
        for text in texts:
            image = self.image(text)
            reference = lookup.try_reference(text)
            names = (reference,) if reference is not None and reference in image.names else image.names
            previous = chosen.get(image.digest)
            merged = tuple(dict.fromkeys((*(previous.names if previous else ()), *names)))
            chosen[image.digest] = Image(merged, image.target, image.manifest, image.config)
        archive.save(self.content, list(chosen.values()), out, epoch=source_date_epoch(0))

    def load(self, source: BinaryIO) -> list[str]:
        from .images import archive
        if not source.seekable():  # a pipe: archives are read by member, so spool it first
            import shutil
            import tempfile
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
                self.names.set(name, item.target, rewrite=True)
                report.append(f"Loaded image: {name.familiar}")
            if not item.names:
                self.names.keep_untagged(item.target)
                report.append(f"Loaded image ID: {image.id}")
        return report

    def import_image(self, source: str | Path, reference: str | None = None, *,
                     message: str | None = None, changes: list[str] | None = None) -> Image:
        """docker import: a rootfs (directory, or tarball of one) becomes a one-layer image. A
        tarball is extracted safely first, so whatever it holds lands in a clean, normalised layer."""
        import tempfile

        from .images.changes import apply_changes
        from .images.writer import (
            DEFAULT_PATH,
            layer_descriptor,
            source_date_epoch,
            store_image,
            store_tree_layer,
        )
        from .oci.config import History, ImageConfig, rfc3339
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

    def unpack(self, text: str, dest: str | Path, *, keep_privileges: bool = False) -> Path:
        """Apply an image's layers, in order, into ``dest`` (what a container's rootfs starts as).

        ``dest`` is on the host, so an image's device nodes are not made and its setuid/setgid
        bits and file capabilities are dropped, unless ``keep_privileges`` (as root, then, the
        image's setuid-root files are setuid-root on this host).
        """
        from .images.unpack import unpack_layers
        image = self.image(text)
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        unpack_layers(self.content, image, dest, keep_privileges=keep_privileges)
        return dest

    def graph(self, texts: list[str] | None = None) -> LayerGraph:
        """Images over their layer stacks, shared layers drawn once, containers on top."""
        from .diagrams import image_graph
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

    def system_check(self) -> CheckReport:
        from .images import maintenance
        from .results import CheckReport, as_shown
        return as_shown(CheckReport, maintenance.check(self.content, self._roots()))

    def system_prune(self, *, all_images: bool = False) -> PruneReport:
        """Drop untagged images (all unused ones with ``all_images``), then every blob that
        nothing references, and stale temp files a crash may have left."""
        from .images import maintenance
        from .results import PruneReport, as_shown
        return as_shown(PruneReport, maintenance.prune(
            self.content, self.names, in_use=self._images_in_use(),
            extra_roots=self._container_roots(), tmp_dir=self.layout.tmp, all_images=all_images))

    def system_df(self) -> DiskUsage:
        from .images import maintenance
        from .results import DiskUsage, as_shown
        return as_shown(DiskUsage, maintenance.disk_usage(self.content, self.list_images()))

    def info(self) -> dict[str, Any]:
        from .runtime import probe_host
        host = probe_host()
        return {"home": str(self.home), "store": str(self.layout.oci), "compression": self.compression,
                "images": len(self.list_images()), "blobs": sum(1 for _ in self.content.walk()),
                "isolation": host.default_isolation().value if host.default_isolation() else "none",
                "security": _security_options(), "host": host.describe()}


def _security_options() -> list[str]:
    """docker info's "Security Options": the seccomp profile new containers get by default."""
    from .errors import Unavailable
    from .runtime import seccomp
    try:
        seccomp.backend()
    except Unavailable:
        return ["seccomp: unavailable (no libseccomp: containers need "
                "--security-opt seccomp=unconfined)"]
    return [f"seccomp: Profile: {seccomp.BUILTIN} (docker's default)", "no-new-privileges"]
