"""``build``: a Dockerfile and a context in, an image out — one layer per step, a visible cache.

Data flow 6 of the design. The whole Dockerfile is parsed and planned first (every variable
substituted, every base image found), so bad input fails before anything is built. Then, step
by step, each stage grows an *intermediate image* — an unnamed image (config + manifest in the
content store, referred to by its manifest digest) — from its FROM image:

- metadata steps (ENV, LABEL, CMD, …) derive a config with an ``empty_layer`` history entry;
- COPY/ADD (and WORKDIR, when its directory is missing) write a layer straight from the
  context, no container needed (:mod:`.staging`);
- RUN runs in a temporary container on the intermediate image (:mod:`.running`).

Before a step does anything it asks the cache (:mod:`.cache`); a hit reuses the intermediate
image recorded there and prints `` ---> Using cache``.

Timestamps come from :func:`~minidock_magic.images.writer.source_date_epoch`: with
``SOURCE_DATE_EPOCH`` set, every ``created``, every copied file's mtime and every mtime clamp is
that instant, so the same Dockerfile and context give the same digest on any machine; without
it they are "now", as in docker (a fully cached rebuild still gives the same digest, since it
reuses the recorded intermediates).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from ..diff.writer import LayerInfo
from ..errors import InvalidArgument, MinidockError, NotFound
from ..images.image import Image, load_image
from ..images.stores import Stores
from ..images.unpack import apply_blob
from ..images.writer import layer_descriptor, source_date_epoch, store_image, store_tree_layer
from ..oci.config import History, ImageConfig, rfc3339
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from ..oci.manifest import parse_any
from ..oci.reference import Reference
from .cache import BuildCache
from .context import SourceTree, content_hash
from .parser import Dockerfile, parse
from .plan import Plan, Step, plan
from .running import run_step
from .staging import CopyJob, resolve_chown, stage_copy, stage_workdir

if TYPE_CHECKING:
    from ..containers.service import Containers

NO_IMAGE_STEPS = ("ARG", "SHELL")  # they change what later steps mean, not the image


class Engine(Stores, Protocol):
    """The engine as a build sees it: its stores, plus what making layers and running steps needs."""

    compression: str

    @property
    def containers(self) -> Containers: ...

    def image(self, text: str) -> Image: ...


@dataclass
class _Stage:
    image: Image
    rootfs: Path | None = None      # an unpacked view of ``image``, made when a step needs one
    applied: int = 0                # how many of image's layers the view holds


class Builder:
    def __init__(self, engine: Engine, df: Dockerfile, the_plan: Plan, context: SourceTree | None,
                 *, no_cache: bool, out: IO[str], work: Path) -> None:
        self.engine, self.df, self.plan, self.context = engine, df, the_plan, context
        self.no_cache, self.out, self.work = no_cache, out, work
        self.cache = BuildCache(engine.layout.home / "build-cache")
        self.epoch = source_date_epoch()
        # With SOURCE_DATE_EPOCH set, the epoch is an input like any other: a cache filled under
        # another epoch must not answer (its timestamps, hence digests, differ). Unset, it is
        # "now" and is left out, or nothing would ever hit.
        self.pinned_epoch = str(self.epoch) if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit() else ""
        self.created = rfc3339(self.epoch)
        self.stages: dict[int, _Stage] = {}
        self.views: dict[Digest, _Stage] = {}  # COPY --from=<image>: unpacked once per build

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def fail(self, step: Step, exc: MinidockError) -> MinidockError:
        """The same kind of error, its message naming the Dockerfile line."""
        if str(exc).startswith(f"{self.df.name}:"):
            return exc
        try:
            return type(exc)(f"{self.df.name}:{step.line}: {step.keyword} failed: {exc}")
        except TypeError:  # a subclass with its own constructor: keep it as it is
            return exc

    # -- the build --------------------------------------------------------------------------
    def run(self) -> Image:
        total = len(self.plan.steps)
        for name in self.df.directives:
            if name[0] == "syntax":
                self.say(f"note: '# syntax={name[1]}' is ignored: minidock has its own parser")
        state: _Stage | None = None
        for stage in self.plan.stages:
            for step in stage.steps:
                self.say(f"Step {step.number}/{total} : {step.shown}")
                for note in step.notes:
                    self.say(f"note: {note}")
                try:
                    if step.keyword == "FROM":
                        state = _Stage(self.base(stage.base, stage.base_stage))
                    elif step.keyword not in NO_IMAGE_STEPS:
                        assert state is not None
                        state.image = self.step(state, step)
                except MinidockError as exc:
                    raise self.fail(step, exc) from None
                except OSError as exc:  # e.g. an unreadable file in the context: still one line
                    where = f": {exc.filename}" if exc.filename else ""
                    raise self.fail(step, InvalidArgument(f"{exc.strerror or exc}{where}")) from None
                assert state is not None
                self.say(f" ---> {state.image.id.short}")
            assert state is not None
            self.stages[stage.index] = state
        if self.plan.unused_args:
            self.say(f"[Warning] One or more build-args {list(self.plan.unused_args)} were not consumed")
        assert state is not None
        return state.image

    def base(self, base: str, base_stage: int | None) -> Image:
        if base_stage is not None:
            return self.stages[base_stage].image
        if base == "scratch":
            config = ImageConfig.create(diff_ids=[], history=[], run={}, created=self.created)
            return load_image(self.engine.content, store_image(self.engine.content, config, []))
        return self.engine.image(base)

    def step(self, state: _Stage, step: Step) -> Image:
        parent = state.image
        chain = parent.config.chain_ids
        inputs: dict[str, object] = {"parent": str(parent.id), "chain_id": str(chain[-1]) if chain else "",
                                     "instruction": step.text, "epoch": self.pinned_epoch}
        tree, sources = None, []
        if step.keyword in ("COPY", "ADD"):
            tree = self.source_tree(step)
            sources = [s for word in step.sources for s in tree.select(word)]
            inputs["files"] = content_hash(tree, sources)
        key = self.cache.key(inputs)
        if not self.no_cache and (hit := self.cached(key)) is not None:
            self.say(" ---> Using cache")
            return hit
        if step.keyword in ("COPY", "ADD"):
            assert tree is not None
            image = self.copy(state, step, tree, sources)
        elif step.keyword == "WORKDIR":
            image = self.workdir(state, step)
        elif step.keyword == "RUN":
            image = self.run_command(state, step)
        else:
            image = self.derive(parent, step, None)
        self.cache.put(key, inputs, str(image.digest))
        return image

    def cached(self, key: str) -> Image | None:
        text = self.cache.get(key)
        if text is None:
            return None
        content = self.engine.content
        try:
            digest = Digest.parse(text)
            document = parse_any(content.read_bytes(digest))
            image = load_image(content, Descriptor(document.media_type, digest, content.size(digest)))
        except (MinidockError, OSError, ValueError):
            return None
        if not all(content.exists(blob.digest) for blob in image.blobs()):
            return None  # an intermediate whose blobs were collected: build the step again
        return image

    # -- producing intermediate images ------------------------------------------------------
    def derive(self, parent: Image, step: Step, layer: LayerInfo | None) -> Image:
        author = step.author or parent.config.data.get("author")
        config = parent.config.derive(
            diff_id=layer.diff_id if layer else None, run=step.run, created=self.created,
            author=author, history=History(created=self.created, created_by=step.text,
                                           author=author, empty_layer=layer is None))
        layers = [*parent.layers, layer_descriptor(layer)] if layer else list(parent.layers)
        return load_image(self.engine.content, store_image(self.engine.content, config, layers))

    def rootfs(self, state: _Stage) -> Path:
        """The view of ``state.image``'s filesystem, brought up to date with its new layers."""
        if state.rootfs is None:
            state.rootfs, state.applied = Path(tempfile.mkdtemp(dir=self.work, prefix="rootfs-")), 0
        image = state.image
        for layer, diff_id in list(zip(image.layers, image.config.diff_ids))[state.applied:]:
            apply_blob(self.engine.content, layer, diff_id, state.rootfs)
        state.applied = len(image.layers)
        return state.rootfs

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        path = Path(tempfile.mkdtemp(dir=self.work, prefix="stage-"))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def tree_layer(self, staging: Path) -> LayerInfo:
        return store_tree_layer(self.engine.content, staging, compression=self.engine.compression,
                                epoch=self.epoch)

    def source_tree(self, step: Step) -> SourceTree:
        ref = step.copy_from
        if ref is None:
            if self.context is None:
                raise InvalidArgument("there is no build context to copy from: give a context "
                                      "directory (build -t NAME DIR)")
            return self.context
        current = step.stage
        by_name = {s.name: s.index for s in self.plan.stages if s.name}
        index = by_name.get(ref.lower(), int(ref) if ref.isdigit() else None)
        if index is not None:
            if index >= current:
                raise InvalidArgument(f"--from={ref} refers to {'this' if index == current else 'a later'} "
                                      "stage: copy from an earlier one")
            return SourceTree(self.rootfs(self.stages[index]), label=f"stage {ref}")
        image = self.engine.image(ref)
        view = self.views.setdefault(image.digest, _Stage(image))
        return SourceTree(self.rootfs(view), label=f"image {ref}")

    def copy(self, state: _Stage, step: Step, tree: SourceTree, sources: list[Any]) -> Image:
        rootfs = self.rootfs(state)
        dest = step.dest if step.dest.startswith("/") else posixpath.join(step.workdir, step.dest)
        owner = resolve_chown(step.chown, rootfs) if step.chown else None
        job = CopyJob(tree, sources, dest, owner, step.chmod, unpack_archives=step.keyword == "ADD")
        with self.staging() as staging:
            stage_copy(job, rootfs, staging, self.epoch)
            layer = self.tree_layer(staging)
        return self.derive(state.image, step, layer)

    def workdir(self, state: _Stage, step: Step) -> Image:
        with self.staging() as staging:
            needed = stage_workdir(step.dest, self.rootfs(state), staging, self.epoch)
            layer = self.tree_layer(staging) if needed else None
        return self.derive(state.image, step, layer)

    def run_command(self, state: _Stage, step: Step) -> Image:
        def write_blob(write: Callable[[Any], LayerInfo]) -> LayerInfo:
            with self.engine.content.writer() as blob:
                info = write(blob)
                blob.commit()
            return info

        layer = run_step(self.engine.containers, str(state.image.digest), argv=list(step.argv),
                         env=list(step.env), workdir=step.workdir, user=step.user, out=self.out,
                         announce=self.say, write_blob=write_blob,
                         compression=self.engine.compression, epoch=self.epoch,
                         where=f"{self.df.name}:{step.line}")
        return self.derive(state.image, step, layer)


def build(engine: Engine, context: str | Path | None, dockerfile_text: str | None = None, *,
          tags: Sequence[str] = (), build_args: Mapping[str, str] | None = None,
          no_cache: bool = False, target: str | None = None, out: IO[str] | None = None,
          dockerfile_name: str = "Dockerfile") -> Image:
    """Build an image. ``dockerfile_text`` defaults to ``CONTEXT/Dockerfile``; ``context`` may be
    None when nothing is copied from it (a notebook cell's Dockerfile)."""
    out = out if out is not None else sys.stdout
    root = Path(context) if context is not None else None
    tree = SourceTree.context(root) if root is not None else None
    if dockerfile_text is None:
        if root is None or not (root / dockerfile_name).is_file():
            raise NotFound(f"no {dockerfile_name} in {root}: give one with -f FILE")
        dockerfile_text = (root / dockerfile_name).read_text()
    references = [Reference.parse(tag) for tag in tags]  # bad names fail before any work
    df = parse(dockerfile_text, Path(dockerfile_name).name)
    the_plan = plan(df, dict(build_args or {}), lambda name: engine.image(name).config.run,
                    target=target)
    engine.layout.tmp.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=engine.layout.tmp, prefix="build-") as work:
        image = Builder(engine, df, the_plan, tree, no_cache=no_cache, out=out, work=Path(work)).run()
    for reference in references:
        engine.names.set(reference, image.target)
    print(f"Successfully built {image.id.short}", file=out)
    for reference in references:
        print(f"Successfully tagged {reference.familiar}", file=out)
    return load_image(engine.content, image.target, tuple(references))
