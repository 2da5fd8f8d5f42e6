"""Smaller holes, each a case: ``unpack`` onto the host (device nodes, setuid-root files, file
capabilities), names with a trailing newline, an open registry on every interface, and blob
GETs with a Range header the server cannot use (RFC 9110 §14.2), against ours and CNCF
distribution side by side.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.errors import InvalidArgument, MinidockError
from minidock_magic.facade import Minidock
from minidock_magic.oci.reference import Reference
from minidock_magic.registry import RegistryServer, exposure_warning
from tests.reliability.builders import Layer, make_image, oci_archive
from tests.reliability.conftest import Tally
from tests.remotes.conftest import DockerRegistry

TALLY = Tally("security: names and inputs")
CAPABILITY = b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"  # cap_sys_admin+ep


def _privileged_layer() -> bytes:
    """A setuid-root shell stand-in, a setgid file, a file with capabilities, /dev/loop0 and
    /dev/mem as device nodes — what an image may legitimately hold for its own rootfs."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, mode, data in (("suid", 0o4755, b"#!/bin/sh\n"), ("sgid", 0o2755, b"x"),
                                 ("capped", 0o755, b"y")):
            info = tarfile.TarInfo(name)
            info.mode, info.size, info.uid, info.gid = mode, len(data), 0, 0
            if name == "capped":
                info.pax_headers = {"SCHILY.xattr.security.capability":
                                    CAPABILITY.decode("utf-8", "surrogateescape")}
            tar.addfile(info, io.BytesIO(data))
        dev = tarfile.TarInfo("dev")
        dev.type, dev.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(dev)
        for name, kind, major, minor in (("dev/loop0", tarfile.BLKTYPE, 7, 0),
                                         ("dev/mem", tarfile.CHRTYPE, 1, 1)):
            node = tarfile.TarInfo(name)
            node.type, node.mode, node.devmajor, node.devminor = kind, 0o666, major, minor
            tar.addfile(node)
    return out.getvalue()


@pytest.fixture
def privileged_image(engine: Minidock) -> str:
    image = make_image([Layer.of(_privileged_layer())])
    engine.load(io.BytesIO(oci_archive(image, "docker.io/library/privileged:1")))
    return "privileged:1"


def _capabilities(path: Path) -> bytes | None:
    try:
        return os.getxattr(path, "security.capability", follow_symlinks=False)
    except OSError:
        return None


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make device nodes and setuid-root files")
def test_unpack_onto_the_host_makes_no_devices_nor_setuid_files(engine: Minidock, privileged_image: str,
                                                                tmp_path: Path) -> None:
    with TALLY.case("unpack: no device nodes, setuid/setgid bits or file capabilities on the host"):
        dest = engine.unpack(privileged_image, tmp_path / "rootfs")
        assert not (dest / "dev/loop0").exists() and not (dest / "dev/mem").exists()
        assert stat.S_IMODE((dest / "suid").stat().st_mode) == 0o755
        assert stat.S_IMODE((dest / "sgid").stat().st_mode) == 0o755
        assert _capabilities(dest / "capped") is None
    with TALLY.case("unpack --keep-privileges keeps them (asked for)"):
        exact = engine.unpack(privileged_image, tmp_path / "exact", keep_privileges=True)
        assert stat.S_ISBLK((exact / "dev/loop0").lstat().st_mode)
        assert stat.S_IMODE((exact / "suid").stat().st_mode) == 0o4755
        assert _capabilities(exact / "capped") == CAPABILITY


@pytest.mark.parametrize("name", ["box\n", "box\nother", "/box\n", "box\r", "box\x00"])
def test_container_names_with_control_characters_are_refused(busybox_engine: Minidock, name: str) -> None:
    with TALLY.case(f"container name {name!r}"):
        with pytest.raises(InvalidArgument):
            busybox_engine.containers.create("busybox", RunOptions(command=["true"], name=name))
        assert busybox_engine.containers.store.list() == []


@pytest.mark.parametrize("text", ["busybox\n", "busybox:latest\n", "busybox@sha256:" + "0" * 64 + "\n"])
def test_references_with_a_trailing_newline_are_refused(text: str) -> None:
    with TALLY.case(f"image reference {text!r}"), pytest.raises(MinidockError):
        Reference.parse(text)


def test_container_lookup_by_id_ignores_a_trailing_newline(busybox_engine: Minidock) -> None:
    with TALLY.case("container id with a trailing newline"):
        config = busybox_engine.containers.create("busybox", RunOptions(command=["true"]))
        with pytest.raises(MinidockError):
            busybox_engine.containers.get(config.id + "\n")


def test_open_registry_on_every_interface_warns(tmp_path: Path) -> None:
    with TALLY.case("registry serve --auth open beyond loopback warns"):
        assert exposure_warning("127.0.0.1:5000", "open") is None
        assert exposure_warning("[::1]:5000", "open") is None
        assert exposure_warning("0.0.0.0:5000", "private") is None
        for addr in ("0.0.0.0:5000", "[::]:5000", "192.0.2.1:5000", "registry.example:5000"):
            assert exposure_warning(addr, "open").startswith("warning: --auth open")
        # The CLI says it on one line before it serves (192.0.2.1, TEST-NET-1, is not ours: the
        # bind fails, so nothing listens beyond 127.0.0.1 during the test).
        result = subprocess.run([sys.executable, "-m", "minidock_magic.cli", "registry", "serve",
                                 "--addr", "192.0.2.1:5999", "--auth", "open", "--data", str(tmp_path)],
                                capture_output=True, text=True, timeout=60, check=False)
        assert result.stderr.splitlines()[0].startswith("warning: --auth open on 192.0.2.1:5999")


BLOB = b"hello world, a blob of twenty-nine bytes"


def _push_blob(base: str) -> str:
    import hashlib
    digest = "sha256:" + hashlib.sha256(BLOB).hexdigest()
    with httpx.Client(base_url=base, timeout=30) as client:
        start = client.post("/v2/sec/range/blobs/uploads/")
        location = start.headers["Location"]
        sep = "&" if "?" in location else "?"
        done = client.put(f"{location}{sep}digest={digest}", content=BLOB,
                          headers={"Content-Type": "application/octet-stream"})
        assert done.status_code == 201, done.text
    return digest


@pytest.fixture(scope="module")
def range_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    distribution = DockerRegistry(tmp_path_factory.mktemp("range-distribution"))
    try:
        with RegistryServer(tmp_path_factory.mktemp("range-minidock")) as ours:
            yield {"minidock": ours.url, "distribution": f"http://{distribution.address}"}
    finally:
        distribution.stop()


#: Range -> (ours, distribution 2.8). Both agree where the header is valid; where it is not,
#: RFC 9110 lets a server ignore it (and requires that for an unknown unit): we answer 200 with
#: the whole blob, as nginx and Apache do; Go's http.ServeContent, under distribution, says 416.
RANGES = {
    "bytes=0-3": (206, 206), "bytes=-5": (206, 206), "bytes=3-": (206, 206),
    "bytes=100-200": (416, 416),
    "bytes=5-2": (200, 416), "bytes=abc": (200, 416), "items=0-3": (200, 416), "bytes=5-2,0-1": (200, 416),
}


@pytest.mark.integration
@pytest.mark.parametrize("header", sorted(RANGES))
def test_blob_range_headers(range_servers: dict[str, str], header: str) -> None:
    with TALLY.case(f"blob GET with Range: {header}"):
        for server, expected in zip(("minidock", "distribution"), RANGES[header]):
            digest = _push_blob(range_servers[server])
            # A stream: distribution's 416 promises a Content-Length its body does not have.
            with httpx.stream("GET", f"{range_servers[server]}/v2/sec/range/blobs/{digest}",
                              headers={"Range": header}, timeout=30) as answer:
                assert answer.status_code == expected, (server, answer.status_code)
                if expected == 200:
                    assert answer.read() == BLOB
                if expected == 416 and server == "minidock":  # distribution: for no-overlap only
                    assert answer.headers["Content-Range"] == f"bytes */{len(BLOB)}"
