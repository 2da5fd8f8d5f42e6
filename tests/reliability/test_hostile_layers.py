"""Hostile layers through the engine's front doors: ``load`` (OCI and docker archives),
``import``, ``pull`` and ``build`` — not just ``apply_layer``, which tests/diff covers.

Layers are opaque content until something unpacks them, so a hostile *layer* is refused where
it is applied: at ``import`` (which extracts the tarball), at container create (``load`` and
``pull`` only store blobs), or by ``build`` when its step unpacks the base. Hostile *metadata*
(digests, sizes, diff_ids, history) is refused as early as it can be seen: at ``load``, at
``pull``, or at unpack for what only the layer's bytes can tell (a diff_id).

For every case and channel: nothing is written outside (``World``: a sentinel tree next to the
home, escape-named files only inside a snapshot's tree, the host's ``/etc/passwd`` link count),
the error is one line naming what was refused, and the store is as it was before the refused
step (blob set, ``index.json`` bytes, no container left, ``system check`` clean). A contained
case (the entry lands *inside* the rootfs) must succeed, and its file be found in the layers.

Limits are shrunk (``ApplyLimits(max_bytes=16 MiB)``) so bombs are refused in milliseconds;
the same code path enforces the 8 GiB default. fsync is skipped (durability is the crash
suite's subject).
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

import minidock_magic.snapshots.local
from minidock_magic.containers.options import RunOptions
from minidock_magic.diff.apply import apply_layer
from minidock_magic.diff.layerstream import ApplyLimits
from minidock_magic.errors import DigestMismatch, InvalidArgument, MinidockError, TooLarge, UnsafeLayer
from minidock_magic.facade import Minidock
from minidock_magic.registry import RegistryServer
from minidock_magic.snapshots.base import Kind
from tests.diff.helpers import TarBuilder
from tests.reliability.builders import (
    Layer,
    RawImage,
    docker_archive,
    make_image,
    oci_archive,
    push_raw,
    sha256,
    tar_of,
)
from tests.reliability.conftest import ESCAPE, StoreState, Tally, World, one_line

E = ESCAPE
#: From a snapshot's fs/ (home/snapshots/overlay/snapshots/N/fs) up to the world beside the home.
UP = "../" * 6
SMALL = ApplyLimits(max_bytes=16 << 20)
TALLY = Tally("hostile layers (load/import/pull/build)")
CHANNELS = ("load", "load-docker", "import", "pull", "build")

# Where each channel refuses a hostile *layer*: the step that applies it.
LAYER_STAGES = {"load": "create", "load-docker": "create", "import": "import", "pull": "create",
                "build": "build"}


@dataclass
class Case:
    name: str
    #: hostile layers, on top of a small base (import takes the first alone, as its rootfs tarball)
    layers: list[Layer]
    #: None: contained (must succeed); else text the one-line refusal must contain
    refuse: str | None = None
    error: type[MinidockError] = InvalidArgument
    #: paths (alternatives) that must exist in the container's layers when contained
    inside: tuple[str, ...] = ()
    #: channel -> where it is refused ("load", "pull", "create", "build", "import"); default
    #: LAYER_STAGES; a channel missing from a metadata case's table does not apply to it
    stages: dict[str, str] | None = None
    #: build the image differently (metadata cases): (base layer, hostile layers) -> image
    image: Callable[[Layer, list[Layer]], RawImage] | None = None
    #: after pushing, break the registry's copy (registry data dir, image)
    tamper: Callable[[Path, RawImage], None] | None = None
    channels: tuple[str, ...] = field(default=CHANNELS)

    def stage(self, channel: str) -> str | None:
        if self.refuse is None:
            return None
        return (self.stages or LAYER_STAGES)[channel]


def T(fmt: int = tarfile.PAX_FORMAT) -> TarBuilder:
    return TarBuilder(fmt)


def layer(builder: TarBuilder | bytes, *, compress: bool = True) -> Layer:
    return Layer.of(builder if isinstance(builder, bytes) else builder.bytes(), compress=compress)


def gnu_sparse(name: str, real_size: int, data: bytes) -> bytes:
    """A GNU sparse member: ``data`` stored at the end of ``real_size`` bytes of holes."""
    info = tarfile.TarInfo(name)
    info.type, info.size = tarfile.GNUTYPE_SPARSE, len(data)
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    header[386:398] = b"%011o\0" % (real_size - len(data))
    header[398:410] = b"%011o\0" % len(data)
    header[483:495] = b"%011o\0" % real_size
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header) + data.ljust(512, b"\0") + bytes(1024)


def huge_pax_header() -> bytes:
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, 1 << 30
    return header.tobuf(tarfile.USTAR_FORMAT) + bytes(4096)


@functools.cache
def gzip_bomb() -> Layer:
    """64 MiB of zeros in ~64 kB: four times the (shrunk) limit."""
    return layer(T().file("zeros", bytes(64 << 20)))


def truncated_gzip() -> Layer:
    whole = gzip.compress(T().file("f", os.urandom(64 << 10)).bytes())
    cut = whole[: len(whole) // 2]
    return Layer(tar=cut, blob=cut, media_type="application/vnd.oci.image.layer.v1.tar+gzip")


# -- metadata cases: images whose descriptors, configs or diff_ids lie -------------------------------
def _simple() -> Layer:
    return layer(tar_of({"hello.txt": b"hello\n"}))


def diff_id_mismatch(base: Layer, hostile: list[Layer]) -> RawImage:
    return make_image([base, *hostile], diff_ids=[base.diff_id, sha256(b"some other layer")])


def more_diff_ids_than_layers(base: Layer, hostile: list[Layer]) -> RawImage:
    return make_image([base, *hostile], diff_ids=[base.diff_id, hostile[0].diff_id, sha256(b"x")])


def history_mismatch(base: Layer, hostile: list[Layer]) -> RawImage:
    return make_image([base, *hostile], history=[{"created_by": f"step {i}"} for i in range(5)])


def _lying_descriptor(base: Layer, hostile: list[Layer], **override: object) -> RawImage:
    honest = make_image([base, *hostile])
    layers = [{"mediaType": x.media_type, "digest": sha256(x.blob), "size": len(x.blob)} for x in (base, *hostile)]
    layers[-1].update(override)
    lying = make_image([base, *hostile], layer_descriptors=layers)
    assert lying.manifest != honest.manifest
    return lying


def layer_size_mismatch(base: Layer, hostile: list[Layer]) -> RawImage:
    return _lying_descriptor(base, hostile, size=len(hostile[-1].blob) + 7)


def layer_digest_mismatch(base: Layer, hostile: list[Layer]) -> RawImage:
    """The manifest names blob X; the archive's file for X holds other bytes of X's length."""
    impostor = os.urandom(len(hostile[-1].blob))
    image = _lying_descriptor(base, hostile, digest=sha256(impostor))
    image.extra[sha256(impostor)] = hostile[-1].blob  # stored under the impostor's name
    return image


def tamper_blob(data_dir: Path, image: RawImage) -> None:
    """Swap the registry's copy of the last layer for other bytes (of the same length)."""
    digest = sha256(image.layers[-1].blob)
    path = data_dir / "blobs" / "sha256" / digest.removeprefix("sha256:")
    path.write_bytes(os.urandom(path.stat().st_size))


def config_not_json(base: Layer, hostile: list[Layer]) -> RawImage:
    image = make_image([base, *hostile])
    config = b"{not json"
    manifest = image.manifest.replace(sha256(image.config).encode(), sha256(config).encode()) \
        .replace(b'"size": %d' % len(image.config), b'"size": %d' % len(config))
    return RawImage(config, manifest, image.layers)


def no_layers(base: Layer, hostile: list[Layer]) -> RawImage:
    return make_image([])


# -- the cases ----------------------------------------------------------------------------------------
def cases() -> list[Case]:
    S = UnsafeLayer
    return [
        # names that climb
        Case("dotdot", [layer(T().file(f"../{E}", b"x"))], f"../{E}", S),
        Case("dotdot_to_sentinel", [layer(T().file(f"{UP}sentinel/secret", b"pwned"))], "sentinel/secret", S),
        Case("dotdot_deep_to_host_tmp", [layer(T().file("../" * 40 + f"tmp/{E}"))], f"tmp/{E}", S),
        Case("dotdot_in_the_middle", [layer(T().dir("a").file(f"a/../../{E}"))], "a/../../", S),
        Case("absolute_dotdot", [layer(T().file(f"/../{E}"))], f"/../{E}", S),
        Case("absolute_lands_inside", [layer(T().dir("etc").file(f"/etc/{E}", b"in"))], inside=(f"etc/{E}",)),
        Case("pax_path_override", [layer(T().file("innocent", b"x", pax={"path": f"{UP}sentinel/{E}"}))], E, S),
        Case("pax_linkpath_override", [layer(T().file("innocent").hardlink(
            "h", "innocent", pax={"linkpath": f"{UP}sentinel/secret"}))], "'h'", S),
        Case("gnu_longname_dotdot", [layer(T(tarfile.GNU_FORMAT).file("../" + "a" * 200 + E))], "../aaaa", S),
        Case("nul_in_pax_path", [layer(T().file("innocent", pax={"path": f"x\0/{UP}{E}"}))], "NUL", S),
        # symlinks that point out, in one layer and across layers
        Case("symlink_to_root_then_through", [layer(T().symlink("l", "/").file(f"l/etc/{E}", b"in"))],
             inside=(f"etc/{E}",)),
        Case("symlink_up_then_through", [layer(T().symlink("l", UP).file(f"l/{E}", b"in"))], inside=(E,)),
        Case("symlink_chain_out", [layer(functools.reduce(lambda b, i: b.symlink(f"c{i}", f"c{i + 1}"), range(30), T())
                                         .symlink("c30", UP).file(f"c0/{E}"))], inside=(E,)),
        Case("symlink_to_host_tmp_across_layers", [layer(T().symlink("hosttmp", "/tmp")),
                                                   layer(T().file(f"hosttmp/{E}", b"in"))],
             inside=(f"tmp/{E}", f"hosttmp/{E}")),
        Case("symlink_up_across_layers", [layer(T().symlink("l", UP + "sentinel")),
                                          layer(T().file(f"l/{E}", b"in"))],
             inside=(f"sentinel/{E}", f"l/{E}")),
        Case("dir_swapped_for_symlink_across_layers", [layer(T().dir("d").file("d/keep")),
                                                       layer(T().symlink("d", UP)),
                                                       layer(T().file(f"d/{E}", b"in"))],
             inside=(E, f"d/{E}")),
        Case("symlink_loop", [layer(T().symlink("a", "b").symlink("b", "a").file("a/x"))], "a/x", S),
        Case("parent_is_a_file_via_symlink", [layer(T().file("f").symlink("l", "f").file("l/x"))], "l/x", S),
        Case("symlink_named_dot", [layer(T().symlink(".", "/etc"))], "'.'", S),
        Case("symlink_named_slash", [layer(T().symlink("/", UP))], "'/'", S),
        Case("symlink_named_dot_slash", [layer(T().symlink("./", "/"))], "'./'", S),
        Case("symlink_with_empty_target", [layer(T().symlink("e", ""))], "'e'", S),
        Case("symlink_target_too_long", [layer(T().symlink("t", "x/" * 2100))], "'t'", TooLarge),
        # hardlinks
        Case("hardlink_to_missing_host_file", [layer(T().hardlink("sh", "/etc/shadow"))], "'sh'", S),
        Case("hardlink_to_etc_passwd_stays_inside", [layer(T().dir("etc").file("etc/passwd", b"img")
                                                           .hardlink("pw", "/etc/passwd"))], inside=("pw",)),
        Case("hardlink_up", [layer(T().hardlink("h", f"{UP}sentinel/secret"))], "'h'", S),
        Case("hardlink_through_escaping_symlink_across_layers",
             [layer(T().symlink("l", UP + "sentinel")), layer(T().hardlink("h", "l/secret"))], "'h'", S),
        Case("hardlink_to_directory", [layer(T().dir("d").hardlink("h", "d"))], "'h'", S),
        # whiteouts
        Case("whiteout_through_escaping_symlink", [layer(T().symlink("l", UP)),
                                                   layer(T().file("l/.wh.sentinel").file("l/.wh.home"))]),
        Case("whiteout_of_dotdot", [layer(T().dir("d").file("d/.wh.."))], "d/.wh..", S),
        # special files
        Case("device_nodes", [layer(T().add("vda", tarfile.BLKTYPE, devmajor=254, devminor=0)
                                    .add("mem", tarfile.CHRTYPE, devmajor=1, devminor=1))]),
        Case("overlay_whiteout_lookalike_device", [layer(T().dir("etc").add("etc/x", tarfile.CHRTYPE))]),
        Case("setuid_root_file", [layer(T().dir("usr").file("usr/evil", b"#!/bin/sh\n", mode=0o4755))],
             inside=("usr/evil",)),
        Case("overlay_xattrs_never_set", [layer(T().dir("d", pax={
            "SCHILY.xattr.trusted.overlay.redirect": "/" + UP, "SCHILY.xattr.trusted.overlay.opaque": "y",
            "SCHILY.xattr.user.overlay.opaque": "y"}))], inside=("d",)),
        # resources
        Case("gzip_bomb", [gzip_bomb()], "more than", TooLarge),
        Case("sparse_file_bomb", [layer(gnu_sparse("holes", 1 << 30, b"tail"))], "more than", TooLarge),
        Case("deep_nesting", [layer(T().file("d/" * 300 + "x"))], "deeper than", TooLarge),
        Case("long_path", [layer(T().file("/".join(["d" * 200] * 25)))], "longer than", TooLarge),
        Case("long_name_component", [layer(T().file("n" * 300))], "nnnn", S),
        Case("long_component_through_a_symlink", [layer(T().symlink("s", "n" * 300).file("s/x"))], "s/x", S),
        Case("huge_pax_header", [layer(huge_pax_header())], "extended header", TooLarge),
        Case("duplicate_paths_last_wins", [layer(T().file("f", b"first").file("f", b"second")
                                                 .dir("g").file("g/x").file("g", b"file"))], inside=("f", "g")),
        Case("not_a_tar", [layer(b"this is not a tar archive at all\n" * 40)], "not a valid tar", InvalidArgument),
        Case("truncated_gzip", [truncated_gzip()], "not a", InvalidArgument,
             stages={**LAYER_STAGES, "load-docker": "load"}),  # docker archives: diff_id read at load
        # metadata that lies
        Case("diff_id_mismatch", [_simple()], "config says", DigestMismatch, image=diff_id_mismatch,
             stages={"load": "create", "load-docker": "load", "pull": "create", "build": "build"}),
        Case("more_diff_ids_than_layers", [_simple()], "diff_ids", InvalidArgument, image=more_diff_ids_than_layers,
             stages={"load": "load", "load-docker": "load", "pull": "pull"}),
        Case("history_vs_diff_ids_mismatch", [_simple()], "history", InvalidArgument, image=history_mismatch,
             stages={"load": "load", "load-docker": "load", "pull": "pull"}),
        Case("layer_size_mismatch", [_simple()], "bytes", DigestMismatch, image=layer_size_mismatch,
             stages={"load": "load", "pull": "pull"}),
        Case("layer_digest_mismatch", [_simple()], "sha256:", DigestMismatch, image=layer_digest_mismatch,
             stages={"load": "load"}),
        Case("registry_serves_other_bytes", [layer(tar_of({"mine.txt": os.urandom(4096)}))], "sha256:", DigestMismatch, image=lambda b, h: make_image([b, *h]),
             stages={"pull": "pull"}, tamper=tamper_blob),
        Case("config_not_json", [_simple()], "JSON", InvalidArgument, image=config_not_json,
             stages={"load": "load", "pull": "pull"}),
        Case("image_without_layers", [_simple()], "no layers", InvalidArgument, image=no_layers,
             stages={"load": "create", "pull": "create"}),
    ]


CASES = {case.name: case for case in cases()}


def applicable(case: Case, channel: str) -> bool:
    if channel not in case.channels:
        return False
    if case.image is not None:  # metadata cases: only where their table says
        return channel in (case.stages or {})
    if channel == "import":
        return len(case.layers) == 1
    return True


TRIALS = [pytest.param(name, channel, id=f"{name}-{channel}")
          for name, case in CASES.items() for channel in CHANNELS if applicable(case, channel)]


# -- fixtures -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base_layer() -> Layer:
    """A small base below every hostile layer (a busybox-sized one would only cost time)."""
    return layer(T().dir("bin").file("bin/sh", b"#!/not/really\n", mode=0o755).dir("etc")
                 .file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n").file("etc/group", b"root:x:0:\n")
                 .dir("home").dir("tmp", mode=0o1777).dir("usr").dir("usr/bin"))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("hostile-registry") / "data") as server:
        yield server


@pytest.fixture(autouse=True)
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Durability is the crash suite's subject; here fsync only costs time (half of it)."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    monkeypatch.setattr(minidock_magic.snapshots.local, "syncfs", lambda path: None)


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every engine path that applies a layer, with bombs' worth of limits (see the docstring):
    the defaults themselves are shrunk, so no caller can miss it, wherever it imports from."""
    defaults = ApplyLimits.__init__.__defaults__
    assert defaults is not None and defaults[0] == ApplyLimits().max_bytes
    monkeypatch.setattr(ApplyLimits.__init__, "__defaults__", (SMALL.max_bytes, *defaults[1:]))
    monkeypatch.setitem(apply_layer.__kwdefaults__, "limits", SMALL)  # type: ignore[arg-type]
    assert ApplyLimits() == SMALL


# -- one trial ------------------------------------------------------------------------------------------
class Trial:
    def __init__(self, case: Case, channel: str, world: World, engine: Minidock, image: RawImage) -> None:
        self.case, self.channel, self.world, self.engine, self.image = case, channel, world, engine, image
        self.name = f"hostile/{case.name.replace('_', '-')}:1"

    def step(self, stage: str, action: Callable[[], object]) -> object | None:
        """Run one step: refused here (store unchanged, one line) or not (then it must succeed)."""
        before = StoreState(self.engine)
        if self.case.stage(self.channel) != stage:
            return action()
        with pytest.raises(self.case.error) as caught:
            action()
        assert self.case.refuse is not None
        one_line(caught.value, self.case.refuse)
        before.assert_unchanged(allow_dangling=stage == "pull")
        no_leftover_unpacks(self.engine)
        self.world.check()
        return None

    def create_and_look(self, reference: str) -> None:
        created = self.step("create", lambda: self.engine.containers.create(reference, RunOptions(command=["true"])))
        if created is None:
            return
        try:
            dirs = self.engine.snapshotter.layer_dirs(created.parent_snapshot)  # type: ignore[attr-defined]
            if self.case.inside:
                assert any(os.path.lexists(d / rel) for d in dirs for rel in self.case.inside), \
                    f"none of {self.case.inside} landed inside the rootfs"
            if self.case.name == "overlay_xattrs_never_set":
                for d in dirs:
                    if (d / "d").is_dir():
                        assert not [x for x in os.listxattr(d / "d") if x.startswith("trusted.overlay.redirect")]
        finally:
            self.engine.containers.remove(created.id, force=True)  # type: ignore[attr-defined]


def no_leftover_unpacks(engine: Minidock) -> None:
    active = [info.key for info in engine.snapshotter.walk() if info.kind is Kind.ACTIVE]
    assert not active, f"active snapshots left behind: {active}"


@pytest.mark.parametrize(("name", "channel"), TRIALS)
def test_hostile_layer(name: str, channel: str, world: World, base_layer: Layer,
                       registry: RegistryServer, tmp_path: Path) -> None:
    case = CASES[name]
    with TALLY.case(f"{name}/{channel}"):
        engine = Minidock(world.home)
        image = case.image(base_layer, case.layers) if case.image else make_image([base_layer, *case.layers])
        trial = Trial(case, channel, world, engine, image)
        if channel in ("load", "load-docker", "build"):
            archive = oci_archive(image, f"docker.io/{trial.name}") if channel != "load-docker" \
                else docker_archive(image, trial.name)
            loaded = trial.step("load", lambda: engine.load(io.BytesIO(archive)))
            if loaded is None:
                return
            if channel == "build":
                # COPY unpacks the base into the build's own view (RUN would take the same path
                # as container create, which load and pull already cover).
                context = tmp_path / "context"
                context.mkdir()
                (context / "marker.txt").write_text("copied\n")
                trial.step("build", lambda: engine.build(context, f"FROM {trial.name}\nCOPY marker.txt /\n",
                                                         tags=["built:1"], out=io.StringIO()))
                if case.stage(channel) is None:
                    trial.create_and_look("built:1")
            else:
                trial.create_and_look(trial.name)
        elif channel == "import":
            tarball = tmp_path / "rootfs.tar"
            tarball.write_bytes(case.layers[0].blob)
            if trial.step("import", lambda: engine.import_image(tarball, trial.name)) is not None:
                trial.create_and_look(trial.name)
        elif channel == "pull":
            repo = f"hostile/{case.name.replace('_', '-')}"
            with httpx.Client(base_url=registry.url, timeout=30) as client:
                push_raw(client, repo, "1", image)
            if case.tamper is not None:
                case.tamper(registry.data_dir, image)
            reference = f"{registry.address}/{repo}:1"
            if trial.step("pull", lambda: engine.pull(reference, quiet=True)) is not None:
                trial.create_and_look(reference)
        world.check()
        assert engine.system_check().ok


def test_hostile_layer_suite_size() -> None:
    assert len(CASES) >= 30 and len(TRIALS) >= 120, (len(CASES), len(TRIALS))
    assert {c for _, c in (p.values for p in TRIALS)} == set(CHANNELS)
