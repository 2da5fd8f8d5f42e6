"""Interop with the real peers: skopeo (containers/image) and CNCF distribution (``docker-registry``).

Run with ``-m integration``; CI installs ``skopeo`` and ``docker-registry`` (Debian packages).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.registry import RegistryServer
from tests.conftest import need
from tests.servers import DockerRegistry

from .conftest import USERS, Image, make_image, sha256, write_oci_layout

pytestmark = pytest.mark.integration



def skopeo(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([need("skopeo"), "--insecure-policy", *args], capture_output=True, text=True, timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def copy(src: str, dest: str, *extra: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    return skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", *extra, src, dest, ok=ok)


def inspect(ref: str, *extra: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    return skopeo("inspect", "--tls-verify=false", *extra, ref, ok=ok)


@pytest.fixture
def image() -> Image:
    return make_image(b"interop layer\n")


@pytest.fixture
def layout(tmp_path: Path, image: Image) -> str:
    return f"oci:{write_oci_layout(tmp_path / 'layout', image)}:v1"


def read_layout(root: Path) -> tuple[bytes, dict[str, bytes]]:
    index = json.loads((root / "index.json").read_text())
    manifest = (root / "blobs" / index["manifests"][0]["digest"].replace(":", "/")).read_bytes()
    blobs = {f"sha256:{p.name}": p.read_bytes() for p in (root / "blobs/sha256").iterdir()}
    return manifest, blobs


def test_skopeo_copy_in_inspect_and_out(tmp_path: Path, layout: str, image: Image, server: RegistryServer) -> None:
    dest = f"docker://{server.address}/me/hello:v1"
    copy(layout, dest)
    info = json.loads(inspect(dest).stdout)
    assert info["Digest"] == image.digest and info["RepoTags"] == ["v1"]
    assert info["Layers"] == [sha256(image.layer)] and info["Os"] == "linux"
    raw = inspect(dest, "--raw").stdout.encode()
    assert raw == image.manifest  # byte-exact through the registry
    assert json.loads(inspect(dest, "--config").stdout)["architecture"] == "amd64"
    copy(dest, f"oci:{tmp_path / 'out'}:v1")
    manifest, blobs = read_layout(tmp_path / "out")
    assert manifest == image.manifest
    assert blobs[sha256(image.layer)] == image.layer and blobs[sha256(image.config)] == image.config
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{server.address}/me/hello").stdout)
    assert tags["Tags"] == ["v1"]


def test_skopeo_docker_schema2_mount_and_delete(layout: str, server: RegistryServer) -> None:
    first = f"docker://{server.address}/team/base:v1"
    copy(layout, first, "--format", "v2s2")
    raw = json.loads(inspect(first, "--raw").stdout)
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    second = f"docker://{server.address}/me/derived:v1"
    copy(first, second)  # same registry: containers/image mounts the blobs across repositories
    assert any("mount=" in r.target and r.status == 201 for r in server.request_log)
    assert json.loads(inspect(second).stdout)["Digest"] == json.loads(inspect(first).stdout)["Digest"]
    skopeo("delete", "--tls-verify=false", second)
    assert "manifest unknown" in inspect(second, ok=False).stderr.lower()


@pytest.mark.parametrize("mode", ["public", "private"])
def test_skopeo_with_auth(mode: str, layout: str, image: Image, auth_server) -> None:  # type: ignore[no-untyped-def]
    server = auth_server(mode)
    alice = f"--dest-creds=alice:{USERS['alice']}"
    own = f"docker://{server.address}/alice/hello:v1"
    copy(layout, own, alice)
    tokens = [r for r in server.request_log if r.target.startswith("/token")]
    assert tokens and all(r.status == 200 for r in tokens), "skopeo used the Bearer-token flow"
    other = copy(layout, f"docker://{server.address}/bob/hello:v1", alice, ok=False)
    anonymous = inspect(own, ok=False)
    if mode == "public":
        assert other.returncode != 0 and "denied" in other.stderr.lower()
        assert json.loads(anonymous.stdout)["Digest"] == image.digest
    else:
        assert other.returncode == 0  # a company registry: any member pushes anywhere
        assert anonymous.returncode != 0 and "unauthorized" in anonymous.stderr.lower()
    wrong = copy(layout, own, "--dest-creds=alice:not-her-password", ok=False)
    assert wrong.returncode != 0 and "not-her-password" not in wrong.stderr
    with_creds = inspect(own, f"--creds=bob:{USERS['bob']}")
    assert json.loads(with_creds.stdout)["Digest"] == image.digest


@pytest.fixture
def distribution(tmp_path: Path) -> Iterator[str]:
    """CNCF distribution 2.8 (Debian ``docker-registry``) on 127.0.0.1; yields ``host:port``."""
    server = DockerRegistry(tmp_path / "distribution")
    yield server.address
    server.stop()


def test_copy_between_us_and_distribution(tmp_path: Path, layout: str, image: Image, server: RegistryServer,
                                          distribution: str) -> None:
    ours, theirs = f"docker://{server.address}", f"docker://{distribution}"
    copy(layout, f"{ours}/me/hello:v1")
    copy(f"{ours}/me/hello:v1", f"{theirs}/from/us:v1")
    assert json.loads(inspect(f"{theirs}/from/us:v1").stdout)["Digest"] == image.digest
    assert inspect(f"{theirs}/from/us:v1", "--raw").stdout.encode() == image.manifest

    other = make_image(b"pushed to distribution first\n")
    copy(f"oci:{write_oci_layout(tmp_path / 'other', other)}:v1", f"{theirs}/theirs/img:v2", "--format", "v2s2")
    copy(f"{theirs}/theirs/img:v2", f"{ours}/from/them:v2")
    mine, upstream = inspect(f"{ours}/from/them:v2", "--raw").stdout, inspect(f"{theirs}/theirs/img:v2", "--raw").stdout
    assert mine == upstream and json.loads(mine)["mediaType"].startswith("application/vnd.docker")
