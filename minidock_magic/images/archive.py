"""``save``/``load``: images as one tar file, in the combined form docker 25+ writes.

The archive is an OCI image layout (``oci-layout``, ``index.json``, ``blobs/sha256/…``) that also
carries docker's ``manifest.json`` and ``repositories``, so ``docker load``, ``podman load``,
``skopeo copy docker-archive:…`` and ``skopeo copy oci-archive:…`` all accept it. ``load`` reads
that form, plain OCI archives, and the older docker-archive (``<id>.json`` + ``<id>/layer.tar``).

Nothing is extracted to disk by member name: members are looked up by the exact blob paths the
manifests name, streamed through the content store's digest check, and only then named.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from ..content.store import ContentStore
from ..diff.safepath import member_name
from ..errors import DigestMismatch, InvalidArgument, NotFound
from ..oci import compression
from ..oci import mediatypes as mt
from ..oci.canonical import dumps, loads
from ..oci.config import ImageConfig
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from ..oci.manifest import Index, Manifest, parse_any
from ..oci.reference import Reference
from .image import Image
from .store import CONTAINERD_NAME, REF_NAME

MAX_METADATA = 4 << 20  # manifest.json, index.json, configs: no reason to be bigger than this


# -- save --------------------------------------------------------------------------------------
def save(content: ContentStore, images: list[Image], out: BinaryIO, *, epoch: int = 0) -> None:
    index_entries: list[dict] = []
    docker_manifest: list[dict] = []
    repositories: dict[str, dict[str, str]] = {}
    blobs: dict[Digest, int] = {}
    for image in images:
        target = image.manifest.descriptor()
        for blob in (target, image.manifest.config, *image.manifest.layers):
            blobs[blob.digest] = blob.size
        for name in image.names or (None,):
            annotations = {CONTAINERD_NAME: str(name), REF_NAME: name.tag or ""} if name else {}
            index_entries.append(Descriptor(target.media_type, target.digest, target.size,
                                            annotations).to_json())
        docker_manifest.append({
            "Config": _blob_path(image.manifest.config.digest),
            "RepoTags": [n.familiar for n in image.names if n.tag],
            "Layers": [_blob_path(layer.digest) for layer in image.manifest.layers]})
        for name in image.names:
            if name.tag and image.manifest.layers:
                repositories.setdefault(name.familiar_repository, {})[name.tag] = \
                    image.manifest.layers[-1].digest.encoded

    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        def add_bytes(name: str, data: bytes) -> None:
            tar.addfile(_member(name, len(data), epoch), io.BytesIO(data))

        for directory in ("blobs", "blobs/sha256"):
            tar.addfile(_member(directory, 0, epoch, tarfile.DIRTYPE))
        for digest in sorted(blobs):
            with content.open(digest) as blob:
                tar.addfile(_member(_blob_path(digest), blobs[digest], epoch), blob)
        add_bytes("index.json", dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX,
                                       "manifests": index_entries}))
        add_bytes("manifest.json", dumps(docker_manifest))
        add_bytes("oci-layout", dumps({"imageLayoutVersion": mt.OCI_LAYOUT_VERSION}))
        if repositories:
            add_bytes("repositories", dumps(repositories))


def _blob_path(digest: Digest) -> str:
    return f"blobs/{digest.algorithm}/{digest.encoded}"


def _member(name: str, size: int, epoch: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.type = size, epoch, kind
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


# -- load --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Loaded:
    target: Descriptor
    names: tuple[Reference, ...]


class _Archive:
    """Random access to an archive's regular files by their normalised names."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        members = tar.getmembers()
        self.members = {member_name(m.name): m for m in members if m.isfile()}
        # Older docker archives name layers ``<id>/layer.tar`` as symlinks to ``../<hex>.tar``:
        # follow one hop, and only to another regular member of the same archive.
        for link in members:
            if link.issym():
                target = posixpath.normpath(posixpath.join(posixpath.dirname(member_name(link.name)),
                                                           link.linkname))
                if target in self.members:
                    self.members.setdefault(member_name(link.name), self.members[target])

    def has(self, name: str) -> bool:
        return name in self.members

    def open(self, name: str) -> BinaryIO:
        member = self.members.get(name)
        if member is None:
            raise NotFound(f"the archive has no {name!r}")
        stream = self.tar.extractfile(member)
        assert stream is not None  # regular files always have a stream
        return stream  # type: ignore[return-value]

    def read_small(self, name: str) -> bytes:
        if self.members.get(name) is not None and self.members[name].size > MAX_METADATA:
            raise InvalidArgument(f"{name} in the archive is larger than {MAX_METADATA} bytes")
        with self.open(name) as stream:
            return stream.read()


def load(content: ContentStore, source: BinaryIO) -> list[Loaded]:
    """Read every image in the archive into the store. On any error, blobs this call added are
    removed again, so a bad archive leaves the store as it was."""
    added: list[Digest] = []

    def ingest(stream: BinaryIO, expected: Digest | None = None, size: int | None = None) -> Digest:
        with content.writer(expected, size) as writer:
            while chunk := stream.read(1 << 20):
                writer.write(chunk)
            # By what was written, not only by what was expected: a docker-archive layer comes
            # with no digest, and one the store already had must survive a failed load.
            existed = content.exists(expected if expected is not None else writer.digest)
            info = writer.commit()
        if not existed:
            added.append(info.digest)
        return info.digest

    try:
        with tarfile.open(fileobj=source, mode="r:*") as tar:
            archive = _Archive(tar)
            if archive.has("index.json") and archive.has("oci-layout"):
                return _load_oci(archive, ingest)
            if archive.has("manifest.json"):
                return _load_docker(archive, content, ingest)
            raise InvalidArgument("not an image archive: no index.json/oci-layout and no manifest.json")
    except tarfile.TarError as exc:
        _forget(content, added)
        raise InvalidArgument(f"not a readable tar archive: {exc}") from None
    except BaseException:
        _forget(content, added)
        raise


def _forget(content: ContentStore, added: list[Digest]) -> None:
    for digest in added:
        if content.exists(digest):
            content.delete(digest)


Ingest = Callable[..., Digest]


def _load_oci(archive: _Archive, ingest: Ingest) -> list[Loaded]:
    index = Index.parse(archive.read_small("index.json"))
    repo_tags = _repo_tags_by_config(archive)
    loaded = []
    for target in index.manifests:
        _ingest_tree(archive, ingest, target)
        loaded.append(Loaded(target, _names_for(archive, target, repo_tags)))
    return loaded


def _ingest_tree(archive: _Archive, ingest: Ingest, desc: Descriptor) -> None:
    path = _blob_path(desc.digest)
    if desc.media_type in mt.MANIFEST_TYPES | mt.INDEX_TYPES:
        raw = archive.read_small(path)
        document = parse_any(raw, desc.media_type)
        ingest(io.BytesIO(raw), desc.digest, desc.size)
        if isinstance(document, Index):
            for child in document.manifests:
                if archive.has(_blob_path(child.digest)):  # other platforms may be left out
                    _ingest_tree(archive, ingest, child)
        else:
            config = ImageConfig.parse(archive.read_small(_blob_path(document.config.digest)))
            if len(config.diff_ids) != len(document.layers):  # unusable: refuse it before storing
                raise InvalidArgument(f"manifest {desc.digest.short} lists {len(document.layers)} "
                                      f"layers but its config has {len(config.diff_ids)} diff_ids")
            for blob in (document.config, *document.layers):
                with archive.open(_blob_path(blob.digest)) as stream:
                    ingest(stream, blob.digest, blob.size)
    else:
        with archive.open(path) as stream:
            ingest(stream, desc.digest, desc.size)


def _repo_tags_by_config(archive: _Archive) -> dict[str, list[str]]:
    if not archive.has("manifest.json"):
        return {}
    entries = loads(archive.read_small("manifest.json"), "manifest.json")
    if not isinstance(entries, list):
        raise InvalidArgument("invalid manifest.json: expected a list")
    return {member_name(str(e.get("Config", ""))): list(e.get("RepoTags") or [])
            for e in entries if isinstance(e, dict)}


def _names_for(archive: _Archive, target: Descriptor,
               repo_tags: dict[str, list[str]]) -> tuple[Reference, ...]:
    full = target.annotations.get(CONTAINERD_NAME)
    if full:
        return (Reference.parse(full),)
    if target.media_type in mt.MANIFEST_TYPES:
        manifest = Manifest.parse(archive.read_small(_blob_path(target.digest)), target.media_type)
        tags = repo_tags.get(_blob_path(manifest.config.digest), [])
        if tags:
            return tuple(Reference.parse(t) for t in tags)
    ref_name = target.annotations.get(REF_NAME, "")
    if "/" in ref_name or ":" in ref_name:  # a full name; a bare tag says too little to name by
        return (Reference.parse(ref_name),)
    return ()


def _load_docker(archive: _Archive, content: ContentStore, ingest: Ingest) -> list[Loaded]:
    entries = loads(archive.read_small("manifest.json"), "manifest.json")
    if not isinstance(entries, list) or not entries:
        raise InvalidArgument("invalid manifest.json: expected a non-empty list")
    loaded = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("Layers"), list):
            raise InvalidArgument("invalid manifest.json entry: needs Config and Layers")
        config_raw = archive.read_small(member_name(str(entry.get("Config", ""))))
        config = ImageConfig.parse(config_raw)
        if len(config.diff_ids) != len(entry["Layers"]):
            raise InvalidArgument(f"manifest.json lists {len(entry['Layers'])} layers but the config "
                                  f"has {len(config.diff_ids)} diff_ids")
        layers = [_ingest_docker_layer(archive, content, ingest, member_name(str(path)), diff_id)
                  for path, diff_id in zip(entry["Layers"], config.diff_ids)]
        config_digest = ingest(io.BytesIO(config_raw))
        manifest = Manifest.build(Descriptor(mt.OCI_CONFIG, config_digest, len(config_raw)), layers)
        ingest(io.BytesIO(manifest.raw), manifest.digest, len(manifest.raw))
        names = tuple(Reference.parse(t) for t in entry.get("RepoTags") or [])
        loaded.append(Loaded(manifest.descriptor(), names))
    return loaded


def _ingest_docker_layer(archive: _Archive, content: ContentStore, ingest: Ingest, path: str,
                         diff_id: Digest) -> Descriptor:
    with archive.open(path) as stream:
        digest = ingest(stream)
    with content.open(digest) as blob:
        kind = compression.detect(blob.read(4))
        blob.seek(0)
        try:
            actual = digest if kind == "none" else compression.diff_id_of(blob)
        except (EOFError, OSError, zlib.error) as exc:  # a truncated or corrupt gzip stream
            raise InvalidArgument(f"layer {path} is not a readable {kind} stream: {exc}") from None
    if actual != diff_id:
        raise DigestMismatch(f"layer {path} has diff_id {actual}, but the config says {diff_id}")
    return Descriptor(mt.OCI_LAYER_BY_COMPRESSION[kind], digest, content.size(digest))

