"""Unpack an image into committed snapshots, one per layer, named by ChainID; and pick a snapshotter.

Data flow 2 of the design: for each layer in order, a committed snapshot named by its ChainID
is reused if there is one — that is *layer sharing*, and it is visible on disk: two images on
the same base point at the very same directory. Otherwise the layer is applied into a fresh,
uniquely named active snapshot on the parent chain, its diff_id is checked against the image
config, and it is committed under the ChainID. Two processes unpacking the same image at once
both do the work; the first commit wins and the second drops its copy and uses the winner's.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from ..content.atomic import atomic_write_bytes
from ..content.store import ContentStore
from ..errors import (
    AlreadyExists,
    Conflict,
    DigestMismatch,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from ..images.image import Image
from ..oci.config import chain_ids
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from .base import Kind, Snapshotter

if TYPE_CHECKING:  # annotations only
    from ..diff.layerstream import ApplyLimits
    from ..home import Layout
    from ..runtime.probe import HostCapabilities

ENV = "MINIDOCK_SNAPSHOTTER"
CHOICES = ("overlay", "copy")
#: Prefix of the active snapshots a layer is unpacked into, before it is committed.
UNPACK_PREFIX = "unpack-"
LABEL_LAYER = "minidock.layer.digest"
LABEL_DIFF_ID = "minidock.layer.diff_id"
LABEL_OWNER = "minidock.unpack.owner"  # host:pid of the process filling an unpack snapshot


def _hostname() -> str:
    return os.uname().nodename  # what socket.gethostname() says, without importing socket


def _owner() -> str:
    return f"{_hostname()}:{os.getpid()}"


def _abandoned(labels: dict[str, str]) -> bool:
    """Whether the process that was filling an unpack snapshot is gone (crashed, killed)."""
    host, _, pid = labels.get(LABEL_OWNER, "").rpartition(":")
    if host != _hostname() or not pid.isdigit():
        return False  # another machine's, or not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def reap_abandoned(snapshotter: Snapshotter) -> list[str]:
    """Remove unpack snapshots whose process died before committing them (crash leftovers)."""
    removed = []
    for info in list(snapshotter.walk()):
        if info.kind is Kind.ACTIVE and info.key.startswith(UNPACK_PREFIX) \
                and _abandoned(info.labels):
            with contextlib.suppress(NotFound):
                snapshotter.remove(info.key)
                removed.append(info.key)
    return removed


def _committed(snapshotter: Snapshotter, key: str) -> bool:
    try:
        info = snapshotter.stat(key)
    except NotFound:
        return False
    if info.kind is not Kind.COMMITTED:
        raise Conflict(f"snapshot {key!r} exists but is active, not an unpacked layer")
    return True


def _unpack_layer(snapshotter: Snapshotter, content: ContentStore, layer: Descriptor,
                  diff_id: Digest, key: str, parent: str | None, limits: ApplyLimits | None) -> None:
    # Imported here: every container start unpacks its image, but few have a layer to apply.
    from ..diff.apply import apply_layer
    from ..diff.layerstream import ApplyLimits

    active = f"{UNPACK_PREFIX}{os.urandom(16).hex()} {key}"  # unique: racing unpackers never collide
    snapshotter.prepare(active, parent, labels={LABEL_OWNER: _owner()})
    try:
        target = snapshotter.apply_target(active)
        with content.open(layer.digest) as stream:
            report = apply_layer(stream, target.path, limits=limits or ApplyLimits(),
                                 whiteouts=target.whiteouts,
                                 opaque_xattrs=target.opaque_xattrs or None)
        if report.diff_id != diff_id:
            raise DigestMismatch(f"layer {layer.digest} unpacks to {report.diff_id}, but the "
                                 f"image config says {diff_id}")
        try:
            snapshotter.commit(key, active, labels={
                LABEL_LAYER: str(layer.digest), LABEL_DIFF_ID: str(diff_id)})
            return
        except AlreadyExists:
            pass  # another process committed this ChainID meanwhile: theirs is the same layer
        if not _committed(snapshotter, key):
            raise Conflict(f"snapshot {key!r} appeared while unpacking it, but is not committed")
    except BaseException:
        with contextlib.suppress(Exception):
            snapshotter.remove(active)
        raise
    snapshotter.remove(active)


def unpack(snapshotter: Snapshotter, content: ContentStore, image: Image, *,
           limits: ApplyLimits | None = None) -> str:
    """Make sure every layer of ``image`` is a committed snapshot; the top one's key (its
    ChainID), which a container's writable layer is prepared on."""
    diff_ids = image.config.diff_ids
    if len(diff_ids) != len(image.layers):
        raise DigestMismatch(f"image {image.id.short} has {len(image.layers)} layers but "
                             f"{len(diff_ids)} diff_ids")
    if not diff_ids:
        raise InvalidArgument(f"image {image.display_name} has no layers: there is no filesystem "
                              "to unpack or run")
    chain = chain_ids(diff_ids)
    if _committed(snapshotter, str(chain[-1])):
        # The usual case, a container start: a committed snapshot sits on committed parents
        # only, and a ChainID names the whole stack, so every layer below is there too.
        return str(chain[-1])
    reap_abandoned(snapshotter)
    parent: str | None = None
    for layer, diff_id, chain_id in zip(image.layers, diff_ids, chain):
        key = str(chain_id)
        if not _committed(snapshotter, key):
            _unpack_layer(snapshotter, content, layer, diff_id, key, parent, limits)
        parent = key
    assert parent is not None
    return parent


# -- choosing a snapshotter -------------------------------------------------------------------
def _choice(layout: Layout, capabilities: HostCapabilities | None,
            prefer: str | None = None) -> tuple[str, bool, str]:
    """(kind, rootless, why): the setting, else this home's earlier choice, else the host's say."""
    recorded = layout.snapshots / "driver"
    kind, why = (prefer or os.environ.get(ENV, "")).strip().lower(), "the settings say so"
    if kind and kind not in CHOICES:
        raise InvalidArgument(f"snapshotter {kind!r} is not one of: {', '.join(CHOICES)}")
    if not kind:
        with contextlib.suppress(FileNotFoundError):
            kind, why = recorded.read_text().strip(), f"this home uses it ({recorded})"
    if capabilities is None and kind not in CHOICES:  # only a first choice needs the host probed
        from ..runtime.probe import probe_host
        capabilities = probe_host()
    # Root's layers carry both opaque xattrs and so serve rootless mounts too (see .overlay).
    rootless = os.geteuid() != 0 if capabilities is None else \
        not (capabilities.is_root and capabilities.overlay)
    if kind not in CHOICES:
        # Fixed per home once chosen: containers and layers live in one snapshotter's store.
        usable = capabilities is not None and capabilities.overlay_usable \
            and not any(c in str(layout.snapshots.absolute()) for c in ",:")  # overlayfs syntax
        kind, why = ("overlay" if usable else "copy"), "chosen for this host"
        atomic_write_bytes(recorded, kind.encode() + b"\n")
    if kind == "overlay" and capabilities is not None \
            and not (capabilities.overlay or capabilities.rootless_overlay):
        raise Unavailable(f"overlay snapshots ({why}), but this host cannot mount overlayfs: "
                          f"set {ENV}=copy")
    return kind, rootless, why


def snapshotter_for(layout: Layout, capabilities: HostCapabilities | None = None,
                    prefer: str | None = None) -> Snapshotter:
    """overlay where this host can mount it (rootless too), else copy; ``$MINIDOCK_SNAPSHOTTER``
    forces either. The first choice is recorded in the home and kept (its containers and layers
    live in that snapshotter's store, under ``layout.snapshots/<kind>``)."""
    kind, rootless, _why = _choice(layout, capabilities, prefer)
    if kind == "overlay":
        from .overlay import OverlaySnapshotter
        return OverlaySnapshotter(layout.snapshots / ("overlay-rootless" if rootless else "overlay"),
                                  rootless=rootless)
    from .copy import CopySnapshotter
    return CopySnapshotter(layout.snapshots / "copy")
