"""The seed's story end to end: writable layers over shared read-only layers, committed and shared."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from minidock_magic.containers.options import RunOptions
from tests.conftest import Podman

pytestmark = pytest.mark.integration


def run(engine, image, script, **options):
    out = io.BytesIO()
    config, code = engine.containers.run(image, RunOptions(command=["sh", "-c", script], **options),
                                         stdout=out, stderr=out)
    assert code == 0, out.getvalue()
    return config, out.getvalue().decode()


def tree_checksum(directories: list[Path]) -> str:
    digest = hashlib.sha256()
    for directory in directories:
        for dirpath, dirnames, filenames in sorted(os.walk(directory)):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                path = Path(dirpath) / name
                info = path.lstat()
                digest.update(f"{path.relative_to(directory)} {info.st_mode} {info.st_size}".encode())
                if path.is_file() and not path.is_symlink():
                    digest.update(path.read_bytes())
    return digest.hexdigest()


def last_layer_members(engine, image_name: str) -> list[str]:
    layer = engine.image(image_name).layers[-1]
    with engine.content.open(layer.digest) as blob, tarfile.open(fileobj=blob, mode="r:*") as tar:
        return tar.getnames()


def test_image_layers_are_read_only_under_containers(busybox_engine):
    engine = busybox_engine
    run(engine, "busybox", "true")
    parent = engine.containers.ps(all=True).rows[0].config.parent_snapshot
    before = tree_checksum(engine.snapshotter.layer_dirs(parent))
    run(engine, "busybox", "echo x > /bin/new; rm /bin/ls; chmod 600 /etc/passwd; echo y >> /etc/group")
    assert tree_checksum(engine.snapshotter.layer_dirs(parent)) == before


def test_two_containers_do_not_see_each_others_writes(busybox_engine):
    engine = busybox_engine
    first, _ = run(engine, "busybox", "echo mine > /only-here")
    _, out = run(engine, "busybox", "ls /only-here 2>&1 || echo absent")
    assert out.strip().endswith("absent")
    assert [str(c) for c in engine.containers.diff(first.id)] == ["A /only-here"]


def test_whiteout_end_to_end(busybox_engine):
    engine = busybox_engine
    config, _ = run(engine, "busybox", "rm /etc/group")
    engine.containers.commit(config.id, "nogroup:1")
    assert "etc/.wh.group" in last_layer_members(engine, "nogroup:1")
    _, out = run(engine, "nogroup:1", "ls /etc/group 2>&1 || echo gone; cat /etc/passwd | head -1")
    assert out.split("\n")[-3:-1] == ["gone", "root:x:0:0:root:/root:/bin/sh"]


def test_opaque_directory_end_to_end(busybox_engine):
    engine = busybox_engine
    base, _ = run(engine, "busybox", "mkdir /data && echo a > /data/a && echo b > /data/b")
    engine.containers.commit(base.id, "data:1")
    config, _ = run(engine, "data:1", "rm -rf /data && mkdir /data && echo only > /data/only")
    engine.containers.commit(config.id, "newdata:1")
    members = last_layer_members(engine, "newdata:1")
    assert "data/only" in members
    # overlay records a replaced directory as opaque; the copy snapshotter as one whiteout per file
    assert "data/.wh..wh..opq" in members or {"data/.wh.a", "data/.wh.b"} <= set(members)
    _, out = run(engine, "newdata:1", "ls /data")
    assert out.split() == ["only"]


def test_two_images_on_one_base_share_its_snapshot_directories(busybox_engine, needs_namespaces: None):
    engine = busybox_engine
    a, _ = run(engine, "busybox", "echo a > /a")
    b, _ = run(engine, "busybox", "echo b > /b")
    engine.containers.commit(a.id, "a:1")
    engine.containers.commit(b.id, "b:1")
    ca, _ = run(engine, "a:1", "cat /a")
    cb, _ = run(engine, "b:1", "cat /b")
    base = engine.snapshotter.layer_dirs(a.parent_snapshot)
    assert engine.snapshotter.layer_dirs(ca.parent_snapshot)[-len(base):] == base
    assert engine.snapshotter.layer_dirs(cb.parent_snapshot)[-len(base):] == base
    assert ca.parent_snapshot != cb.parent_snapshot


def test_committed_image_runs_in_podman(busybox_engine, tmp_path, podman: Podman):
    engine = busybox_engine
    config, _ = run(engine, "busybox", "echo committed-by-minidock > /hello")
    engine.containers.commit(config.id, "hello:1", changes=['CMD ["cat", "/hello"]'])
    archive = tmp_path / "hello.tar"
    with open(archive, "wb") as out:
        engine.save(["hello:1"], out)
    podman.podman("load", "-i", str(archive))
    result = podman.run_image("docker.io/library/hello:1")
    assert result.stdout == "committed-by-minidock\n"


def test_cp_and_export(busybox_engine, tmp_path):
    engine = busybox_engine
    config, _ = run(engine, "busybox", "mkdir /data && echo inside > /data/f && ln -s / /data/escape")
    host = tmp_path / "host.txt"
    host.write_text("from the host\n")
    engine.containers.copy(str(host), f"{config.name}:/data/")
    engine.containers.copy(str(host), f"{config.name}:/data/escape/etc/")  # resolved inside: /etc
    assert not Path("/etc/host.txt").exists()
    back = engine.containers.copy(f"{config.name}:/data/f", str(tmp_path))
    assert back.read_text() == "inside\n"
    changes = {str(c) for c in engine.containers.diff(config.id)}
    assert {"A /data/host.txt", "A /etc/host.txt"} <= changes
    exported = io.BytesIO()
    engine.containers.export(config.id, exported)
    exported.seek(0)
    names = tarfile.open(fileobj=exported).getnames()
    assert {"data/f", "data/host.txt", "etc/host.txt", "bin/busybox"} <= set(names)


def test_cli_exit_codes(busybox_engine, needs_namespaces: None):
    def minidock(*args):
        return subprocess.run([sys.executable, "-m", "minidock_magic.cli", "--home",
                               str(busybox_engine.home), *args], capture_output=True, text=True)
    assert minidock("run", "--rm", "busybox", "sh", "-c", "exit 7").returncode == 7
    assert minidock("run", "--rm", "busybox", "nonexistent").returncode == 127
    assert minidock("run", "--rm", "busybox", "/etc/passwd").returncode == 126
    missing = minidock("run", "--rm", "nothere:1", "true")
    assert missing.returncode == 125 and missing.stderr.count("\n") == 1
    assert minidock("run", "--rm", "--bogus", "busybox").returncode == 125
    from minidock_magic.runtime import Isolation, probe_host
    host = probe_host()
    hello = minidock("run", "--rm", "-e", "GREETING=hi", "-w", "/tmp", "-u", "65534", "--hostname", "box",
                     "busybox", "sh", "-c", 'echo $GREETING $(pwd) $(id -u) $(hostname)')
    if host.default_isolation() is Isolation.ROOTLESS and not host.subordinate_ids:
        # a user without an /etc/subuid range has only uid 0 in its containers: one clear line
        assert hello.stdout == "" and "only uid 0 is mapped" in hello.stderr, hello.stderr
        return
    assert hello.stdout == "hi /tmp 65534 box\n"
    piped = subprocess.run([sys.executable, "-m", "minidock_magic.cli", "--home", str(busybox_engine.home),
                            "run", "--rm", "-i", "busybox", "tr", "a-z", "A-Z"], input="shout\n",
                           capture_output=True, text=True)
    assert piped.stdout == "SHOUT\n"
