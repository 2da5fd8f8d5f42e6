"""Fixtures for the registry tests: a real server on 127.0.0.1, a client, and tiny real images."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from minidock_magic.registry import RegistryServer, add_user
from tests.reliability.builders import descriptor, sha256  # one copy of the raw-image helpers

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

USERS = {"alice": "alice-pw-Zq8", "bob": "bob-pw-Xr2"}


@dataclass
class Image:
    layer: bytes
    config: bytes
    manifest: bytes

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def blobs(self) -> list[bytes]:
        return [self.layer, self.config]


def make_image(text: bytes = b"hello from minidock\n", **manifest_extra: object) -> Image:
    """One gzip tar layer holding ``hello.txt``, its config and an OCI manifest — all reproducible."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size, info.mtime, info.mode = len(text), 0, 0o644
        tar.addfile(info, io.BytesIO(text))
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(raw.getvalue())]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": descriptor(OCI_CONFIG, config),
                           "layers": [descriptor(OCI_LAYER_GZIP, layer)], **manifest_extra}).encode()
    return Image(layer, config, manifest)


def write_oci_layout(root: Path, image: Image, tag: str = "v1") -> Path:
    """An OCI image layout (``oci-layout``, ``index.json``, ``blobs/``) that skopeo reads as ``oci:root:tag``."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for data in (image.layer, image.config, image.manifest):
        (blobs / sha256(data).removeprefix("sha256:")).write_bytes(data)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        descriptor(OCI_MANIFEST, image.manifest, annotations={"org.opencontainers.image.ref.name": tag})]}
    (root / "index.json").write_text(json.dumps(index))
    return root


class Pusher:
    """Spec-shaped pushes over a client, for tests that are about something else."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def blob(self, name: str, data: bytes) -> str:
        digest = sha256(data)
        r = self.client.post(f"/v2/{name}/blobs/uploads/", params={"digest": digest}, content=data)
        assert r.status_code == 201, r.text
        return digest

    def manifest(self, name: str, reference: str, body: bytes, media_type: str = OCI_MANIFEST) -> httpx.Response:
        r = self.client.put(f"/v2/{name}/manifests/{reference}", content=body, headers={"Content-Type": media_type})
        assert r.status_code == 201, r.text
        return r

    def image(self, name: str, tag: str, image: Image) -> str:
        for blob in image.blobs:
            self.blob(name, blob)
        self.manifest(name, tag, image.manifest)
        return image.digest


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "registry"


@pytest.fixture
def server(data_dir: Path) -> Iterator[RegistryServer]:
    with RegistryServer(data_dir) as running:
        yield running


def check_response(response: httpx.Response) -> None:
    """Every answer, whatever the request: the API-version header, and never a 5xx."""
    assert response.headers.get("Docker-Distribution-API-Version") == "registry/2.0"
    assert response.status_code < 500, f"{response.request.method} {response.request.url} -> {response.status_code}"


@pytest.fixture
def client(server: RegistryServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, event_hooks={"response": [check_response]}) as c:
        yield c


@pytest.fixture
def push(client: httpx.Client) -> Pusher:
    return Pusher(client)


@pytest.fixture(scope="session")
def htpasswd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("auth") / "htpasswd"
    for user, password in USERS.items():
        add_user(path, user, password, rounds=4)
    return path


@pytest.fixture
def auth_server(data_dir: Path, htpasswd: Path) -> Iterator[Callable[[str], RegistryServer]]:
    """``auth_server(mode)``: a started server in that auth mode (stopped after the test)."""
    started: list[RegistryServer] = []

    def start(mode: str) -> RegistryServer:
        started.append(RegistryServer(data_dir, auth_mode=mode, htpasswd=htpasswd).start())
        return started[-1]

    yield start
    for running in started:
        running.stop()
