"""Hand-made images for the reliability suites: hostile ones included, as archives (OCI and
docker) or pushed raw to a registry, bypassing every check our own writers would make."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field

import httpx

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, **extra: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


@dataclass
class Layer:
    """One layer: its tar (``diff_id`` is of it) and the blob that travels (gzip, or the tar)."""

    tar: bytes
    blob: bytes
    media_type: str

    @classmethod
    def of(cls, tar: bytes, *, compress: bool = True) -> Layer:
        if compress:
            return cls(tar, gzip.compress(tar, mtime=0, compresslevel=1), OCI_LAYER_GZIP)
        return cls(tar, tar, OCI_LAYER)

    @property
    def diff_id(self) -> str:
        return sha256(self.tar)


@dataclass
class RawImage:
    """Config, manifest and blobs exactly as given: nothing is checked or fixed up here."""

    config: bytes
    manifest: bytes
    layers: list[Layer]
    #: extra blobs by digest (a tampered copy, say), served or archived as they are
    extra: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def blobs(self) -> dict[str, bytes]:
        found = {sha256(layer.blob): layer.blob for layer in self.layers}
        found[sha256(self.config)] = self.config
        found.update(self.extra)
        return found


def make_image(layers: list[Layer], *, diff_ids: list[str] | None = None,
               history: list[dict[str, object]] | None = None,
               layer_descriptors: list[dict[str, object]] | None = None,
               cmd: list[str] | None = None) -> RawImage:
    config_doc: dict[str, object] = {
        "created": "2024-01-01T00:00:00Z", "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": cmd or ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids if diff_ids is not None
                   else [layer.diff_id for layer in layers]},
    }
    # History is optional in the spec, but give one entry per layer as every builder does
    # (oci.config's derive() mishandles history-less bases: see the suite report).
    config_doc["history"] = history if history is not None else \
        [{"created_by": f"layer {i}"} for i in range(len(config_doc["rootfs"]["diff_ids"]))]  # type: ignore[index]
    config = json.dumps(config_doc, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": layer_descriptors if layer_descriptors is not None
        else [descriptor(layer.media_type, layer.blob) for layer in layers],
    }, sort_keys=True).encode()
    return RawImage(config, manifest, layers)


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.mode = 0, 0o644
    if data is None:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def oci_archive(image: RawImage, name: str, *, blobs: dict[str, bytes] | None = None) -> bytes:
    """An OCI image layout as one tar (``docker save``'s newer form), the image named ``name``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "blobs")
        _add(tar, "blobs/sha256")
        for digest, data in sorted({**image.blobs, sha256(image.manifest): image.manifest,
                                    **(blobs or {})}.items()):
            _add(tar, f"blobs/sha256/{digest.removeprefix('sha256:')}", data)
        _add(tar, "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode())
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            descriptor(OCI_MANIFEST, image.manifest, annotations={CONTAINERD_NAME: name, REF_NAME: name})]}
        _add(tar, "index.json", json.dumps(index).encode())
    return out.getvalue()


def docker_archive(image: RawImage, tag: str) -> bytes:
    """The older docker-archive form: ``manifest.json`` + ``<n>/layer.tar`` + ``<config>.json``
    (each ``layer.tar`` is the layer blob as it travels: docker and we read gzip there too)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        config_name = sha256(image.config).removeprefix("sha256:") + ".json"
        _add(tar, config_name, image.config)
        paths = []
        for position, layer in enumerate(image.layers):
            _add(tar, f"{position}")
            _add(tar, f"{position}/layer.tar", layer.blob)
            paths.append(f"{position}/layer.tar")
        _add(tar, "manifest.json", json.dumps([{"Config": config_name, "RepoTags": [tag],
                                                 "Layers": paths}]).encode())
    return out.getvalue()


def push_raw(client: httpx.Client, repo: str, tag: str, image: RawImage) -> None:
    """Blobs (monolithic POSTs) then the manifest, straight over HTTP: no client-side checks."""
    for digest, data in image.blobs.items():
        if client.head(f"/v2/{repo}/blobs/{digest}").status_code == 200:
            continue
        r = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
        assert r.status_code == 201, r.text
    r = client.put(f"/v2/{repo}/manifests/{tag}", content=image.manifest,
                   headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 201, r.text


def tar_of(files: dict[str, bytes]) -> bytes:
    """A plain, well-behaved layer tar."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            _add(tar, name, data)
    return out.getvalue()
