"""Deduplication made visible: push and pull end with one line of what moved and what did not,
and the same figures come back to a Python caller in a ``PushReport`` / ``PullReport``.

An app image is busybox plus one layer of its own. Pushed next to busybox, only its own layer
travels (busybox's is mounted from the repository that has it); pushed into busybox's repository,
busybox's layer is already there; pulled into a store that has busybox, only its own layer comes
down. Our registry's request log says which blobs were really uploaded and downloaded, and their
bytes add up to what the summary claims.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from minidock_magic.build.builder import build
from minidock_magic.facade import Minidock
from minidock_magic.images.image import Image
from minidock_magic.oci.digest import Digest
from minidock_magic.registry import RegistryServer
from minidock_magic.remotes.pull import PullReport, pull
from minidock_magic.remotes.push import PushReport, push
from minidock_magic.results import human_size

pytestmark = pytest.mark.integration


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path / "registry") as running:
        yield running


@pytest.fixture
def app(busybox_engine: Minidock, tmp_path: Path) -> Image:
    """busybox plus one layer holding a megabyte that does not compress."""
    context = tmp_path / "context"
    context.mkdir()
    (context / "payload.bin").write_bytes(os.urandom(1_000_000))
    image = build(busybox_engine, context, "FROM busybox\nCOPY payload.bin /payload.bin\n", tags=["app:1"],
                  out=io.StringIO())
    assert image.layers[:-1] == busybox_engine.image("busybox").layers
    return image


def query(target: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(target).query).items()}


def uploaded(server: RegistryServer) -> list[Digest]:
    """Blobs whose bytes reached the registry: a completed upload (PUT, or POST with ?digest=)."""
    return [Digest.parse(query(r.target)["digest"]) for r in server.request_log
            if r.status == 201 and "/blobs/uploads/" in r.target and "digest" in query(r.target)]


def downloaded(server: RegistryServer) -> list[Digest]:
    return [Digest.parse(r.target.rsplit("/", 1)[1]) for r in server.request_log
            if r.method == "GET" and r.status == 200 and "/blobs/sha256:" in r.target]


def test_push_sends_only_the_new_layer_and_says_so(busybox_engine, app, server, lines):
    base, own = app.layers
    size_of = {d.digest: d.size for d in (*app.layers, app.target)} | {app.manifest.config.digest:
                                                                        app.manifest.config.size}
    busybox_engine.tag("busybox", f"{server.address}/team/base:1")
    first = PushReport()
    push(busybox_engine, f"{server.address}/team/base:1", report=first)
    assert first.sent == [base] and first.line == f"Pushed 1 layer ({human_size(base.size)} sent)"

    # Next to busybox: its layer is mounted, only the app's own layer (and config) is sent.
    name = f"{server.address}/team/app:1"
    busybox_engine.tag("app:1", name)
    server.app.state.request_log.clear()
    status: list[str] = []
    report = PushReport()
    digest = push(busybox_engine, name, report=report, trace=lines, out=status.append)
    assert digest == app.digest  # the return value is unchanged

    assert report.sent == [own] and report.sent_bytes == own.size
    assert report.mounted == [(base, "team/base")] and report.mounted_bytes == base.size
    assert report.present == []
    assert status[-2] == report.line == (f"Pushed 1 layer ({human_size(own.size)} sent); "
                                         f"1 mounted from another repository ({human_size(base.size)})")
    assert status[-1] == f"1: digest: {digest} size: {app.target.size}"
    # What the registry saw: the app's layer and config uploaded, busybox's layer never.
    assert sorted(map(str, uploaded(server))) == sorted([str(own.digest), str(app.manifest.config.digest)])
    layer_bytes = sum(size_of[d] for d in uploaded(server) if d != app.manifest.config.digest)
    assert layer_bytes == report.sent_bytes
    assert [(query(r.target), r.status) for r in server.request_log if "mount" in query(r.target)] == [
        ({"mount": str(base.digest), "from": "team/base"}, 201)]
    assert [line for line in lines.requests("PUT", "/blobs/uploads/") if str(base.digest) in line] == []
    assert any(str(own.digest) in line and human_size(own.size) in line for line in lines.requests("PUT"))

    # Into busybox's own repository: its layer is there already, the app's is mounted from team/app.
    server.app.state.request_log.clear()
    again = PushReport()
    push(busybox_engine, name, report=again)  # same repository: everything already present
    total = human_size(base.size + own.size)
    assert again.line == f"Pushed 0 layers (0B sent); 2 already present ({total} skipped)"
    busybox_engine.tag("app:1", f"{server.address}/team/base:app")
    both = PushReport()
    push(busybox_engine, f"{server.address}/team/base:app", report=both)
    assert both.present == [base] and both.mounted == [(own, "team/app")] and both.sent == []
    assert both.line == ("Pushed 0 layers (0B sent); "
                         f"1 mounted from another repository ({human_size(own.size)}); "
                         f"1 already present ({human_size(base.size)} skipped)")
    assert uploaded(server) == []


def test_pull_downloads_only_what_the_store_lacks(busybox_engine, busybox_home, app, server, tmp_path):
    base, own = app.layers
    name = f"{server.address}/team/app:1"
    busybox_engine.tag("app:1", name)
    push(busybox_engine, name)

    home = tmp_path / "has-busybox"
    shutil.copytree(busybox_home, home, symlinks=True)
    engine = Minidock(home)
    server.app.state.request_log.clear()
    status: list[str] = []
    report = PullReport()
    image = pull(engine, name, report=report, out=status.append)
    assert image.digest == app.digest and image.id == app.id  # the return value is unchanged

    assert report.downloaded == [own] and report.present == [base]
    assert report.line == (f"Downloaded 1 layer ({human_size(own.size)}); "
                           f"1 already present ({human_size(base.size)})")
    assert status[status.index(f"{own.digest.short}: Pull complete") + 1] == report.line
    assert status.index(report.line) < status.index(f"Digest: {app.digest}")
    got = downloaded(server)
    assert base.digest not in got and own.digest in got
    assert sum(d.size for d in app.layers if d.digest in got) == report.downloaded_bytes

    again = PullReport()
    pull(engine, name, report=again)
    assert again.downloaded == [] and again.line == (
        f"Downloaded 0 layers (0B); 2 already present ({human_size(base.size + own.size)})")
