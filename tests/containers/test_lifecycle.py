"""Containers for real: a writable layer over the image's shared layers, an isolated process."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.errors import AlreadyExists, Conflict, InvalidArgument, NotFound

pytestmark = pytest.mark.integration


def run(engine, *command, **options):
    out, err = io.BytesIO(), io.BytesIO()
    config, code = engine.containers.run("busybox", RunOptions(command=list(command), **options),
                                         stdout=out, stderr=err)
    return config, code, out.getvalue().decode(), err.getvalue().decode()


def test_echo_and_exit_codes(busybox_engine):
    _, code, out, _ = run(busybox_engine, "echo", "hello")
    assert (code, out) == (0, "hello\n")
    assert run(busybox_engine, "sh", "-c", "exit 3")[1] == 3
    _, code, _, err = run(busybox_engine, "no-such-command")
    assert code == 127 and "no-such-command" in err
    _, code, _, _ = run(busybox_engine, "/etc/passwd")
    assert code == 126


def test_output_to_devnull_or_an_fd_still_reaches_the_log(busybox_engine, tmp_path):
    # DEVNULL and fds are streams of the runtime's own grammar; the log gets the output anyway.
    config, code = busybox_engine.containers.run(
        "busybox", RunOptions(command=["sh", "-c", "echo out; echo err >&2"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert code == 0
    assert b"".join(busybox_engine.containers.logs(config.id)) == b"out\nerr\n"
    with open(tmp_path / "out", "wb") as out:
        config, code = busybox_engine.containers.run(
            "busybox", RunOptions(command=["sh", "-c", "echo out; echo err >&2"]),
            stdout=out.fileno(), stderr=subprocess.STDOUT)
    assert code == 0 and (tmp_path / "out").read_bytes() == b"out\nerr\n"
    assert b"".join(busybox_engine.containers.logs(config.id)) == b"out\nerr\n"


def test_isolation_is_visible(busybox_engine, needs_namespaces: None):
    _, _, out, _ = run(busybox_engine, "sh", "-c", "echo $$; hostname; ls /proc | grep -c '^[0-9]'; "
                       "cat /proc/net/dev | tail -n +3 | cut -d: -f1")
    pid, hostname, processes, *interfaces = out.split()
    assert pid == "1"
    assert len(hostname) == 12  # the short id, like docker
    assert int(processes) <= 3
    assert interfaces == ["lo"]


def test_writable_layer_and_docker_diff(busybox_engine):
    config, code, _, _ = run(busybox_engine, "sh", "-c",
                             "echo hi > /tmp/new; rm /etc/group; echo x >> /etc/passwd")
    assert code == 0
    changes = {str(c) for c in busybox_engine.containers.diff(config.id)}
    assert changes == {"A /tmp/new", "D /etc/group", "C /etc/passwd", "C /etc", "C /tmp"}
    # The image itself is untouched: a second container sees the original files.
    _, _, out, _ = run(busybox_engine, "sh", "-c", "ls /tmp; cat /etc/group | head -1")
    assert out == "root:x:0:\n"


def test_runtime_mount_points_are_not_the_containers_changes(busybox_engine):
    config, _, _, _ = run(busybox_engine, "true")
    assert list(busybox_engine.containers.diff(config.id)) == []


def test_commit_shares_the_base_layers(busybox_engine):
    config, _, _, _ = run(busybox_engine, "sh", "-c", "echo committed > /hello")
    image = busybox_engine.containers.commit(config.id, "hello:1", message="add /hello",
                                             changes=['CMD ["cat", "/hello"]'])
    base = busybox_engine.image("busybox")
    assert image.layers[:-1] == base.layers  # the very same blobs
    assert len(image.layers) == len(base.layers) + 1
    assert busybox_engine.history("hello:1").rows[0].comment == "add /hello"
    out = io.BytesIO()
    _, code = busybox_engine.containers.run("hello:1", RunOptions(), stdout=out, stderr=io.BytesIO())
    assert code == 0 and out.getvalue() == b"committed\n"


def test_detached_lifecycle_keeps_the_writable_layer(busybox_engine, needs_namespaces: None):
    engine = busybox_engine
    config, _ = engine.containers.run("busybox", RunOptions(
        command=["sh", "-c", "echo started >> /log.txt; cat /log.txt; exec sleep 1000"], name="web"),
        detach=True)
    assert [r.config.name for r in engine.containers.ps()] == ["web"]
    assert "Up" in str(engine.containers.ps())
    top = engine.containers.top("web")
    assert any("sleep 1000" in row[3] for row in top.rows)
    with pytest.raises(Conflict):
        engine.containers.remove("web")
    engine.containers.stop("web", timeout=1)
    assert engine.containers.ps().rows == []
    assert "Exited (137)" in str(engine.containers.ps(all=True))
    engine.containers.start("web")
    deadline = time.time() + 10
    while b"started\nstarted\n" not in b"".join(engine.containers.logs("web")) and time.time() < deadline:
        time.sleep(0.05)
    assert b"started\nstarted\n" in b"".join(engine.containers.logs("web"))  # survived stop/start
    engine.containers.kill("web")
    assert engine.containers.wait("web") == 137
    engine.containers.remove("web")
    with pytest.raises(NotFound):
        engine.containers.get("web")


def test_exec_joins_the_running_container(busybox_engine, needs_namespaces: None):
    engine = busybox_engine
    config, _ = engine.containers.run("busybox", RunOptions(command=["sleep", "1000"]), detach=True)
    try:
        result = subprocess.run([sys.executable, "-m", "minidock_magic.cli", "--home", str(engine.home),
                                 "exec", config.name, "sh", "-c", "echo $$ > /dev/null; hostname; ps"],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines()[0] == config.short_id
        assert "sleep 1000" in result.stdout
    finally:
        engine.containers.remove(config.id, force=True)


def test_detached_container_outlives_the_cli(busybox_engine):
    env = {**os.environ, "MINIDOCK_HOME": str(busybox_engine.home)}
    result = subprocess.run([sys.executable, "-m", "minidock_magic.cli", "run", "-d", "--name", "bg",
                             "busybox", "sleep", "1000"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) == 64
    state = busybox_engine.containers.lifecycle.state(busybox_engine.containers.get("bg"))
    assert state.status == "running"
    os.kill(state.owner_pid, signal.SIGKILL)  # the shim dies, and then the container is killed too
    os.kill(state.pid, signal.SIGKILL)
    deadline = time.time() + 10
    while busybox_engine.containers.ps().rows and time.time() < deadline:
        time.sleep(0.05)
    assert busybox_engine.containers.ps().rows == []  # reconciled: no ghost "Up" container
    busybox_engine.containers.remove("bg")


def test_bad_input_changes_nothing(busybox_engine):
    engine = busybox_engine
    run(engine, "true", name="taken")
    before = sorted(p.name for p in engine.layout.containers.iterdir())
    with pytest.raises(AlreadyExists):
        engine.containers.create("busybox", RunOptions(command=["true"], name="taken"))
    with pytest.raises(InvalidArgument):
        engine.containers.create("busybox", RunOptions(command=["true"], name="bad name!"))
    with pytest.raises(NotFound):
        engine.containers.create("nothere:1", RunOptions(command=["true"]))
    assert sorted(p.name for p in engine.layout.containers.iterdir()) == before


def test_rm_removes_only_the_writable_layer(busybox_engine):
    engine = busybox_engine
    config, _, _, _ = run(engine, "touch", "/x")
    layers_before = {info.key for info in engine.snapshotter.walk()}
    engine.containers.remove(config.id)
    layers_after = {info.key for info in engine.snapshotter.walk()}
    assert layers_before - layers_after == {config.snapshot}
    with pytest.raises(NotFound):
        engine.containers.remove(config.id)


def test_an_image_in_use_cannot_be_removed(busybox_engine):
    engine = busybox_engine
    config, _, _, _ = run(engine, "true")
    with pytest.raises(Conflict, match="container is using it"):
        engine.rmi("busybox")
    engine.containers.remove(config.id)
    assert engine.rmi("busybox")[0] == "Untagged: busybox:latest"


@pytest.mark.parametrize("isolation", ["rootless", "proot"])
def test_other_isolation_backends_run_containers(tmp_path, monkeypatch, isolation):
    from minidock_magic.facade import Minidock
    from minidock_magic.runtime import probe_host
    if isolation == "rootless" and not probe_host().user_namespaces:
        pytest.skip("this host refuses user namespaces, so rootless containers cannot run")
    monkeypatch.setenv("MINIDOCK_SNAPSHOTTER", "copy")  # proot cannot mount overlays
    engine = Minidock(tmp_path / "home")
    config, code, out, err = run(engine, "sh", "-c", "echo hi > /x; cat /x; id -u", isolation=isolation)
    assert (code, out) == (0, "hi\n0\n"), err
    assert [str(c) for c in engine.containers.diff(config.id)] == ["A /x"]
    assert engine.containers.inspect(config.id)["Isolation"] == isolation


@pytest.mark.parametrize("how, status", [("stop", 143), ("kill", 137)])
def test_proot_stop_and_kill_from_another_process_give_dockers_codes(tmp_path, monkeypatch,
                                                                     how, status):
    """The shim owns a detached container; `minidock stop`/`kill` signal it from another
    process. proot would report 255; sleep is not PID 1 there, so SIGTERM ends it: 143."""
    from minidock_magic.facade import Minidock
    from minidock_magic.runtime import probe_host
    from minidock_magic.runtime.spec import Isolation
    if not probe_host().supports(Isolation.PROOT):
        pytest.skip("this host cannot run proot: " + "; ".join(probe_host().describe()))
    monkeypatch.setenv("MINIDOCK_SNAPSHOTTER", "copy")  # proot cannot mount overlays
    engine = Minidock(tmp_path / "home")
    engine.containers.run("busybox", RunOptions(command=["sleep", "600"], name="web",
                                                isolation="proot"), detach=True)
    cli = [sys.executable, "-m", "minidock_magic.cli", how, "web"]
    done = subprocess.run(cli + (["-t", "5"] if how == "stop" else []), capture_output=True,
                          text=True, env={**os.environ, "MINIDOCK_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert engine.containers.wait("web") == status
    assert f"Exited ({status})" in str(engine.containers.ps(all=True))
    engine.containers.remove("web")


def test_proot_refuses_an_overlay_home_before_creating_anything(busybox_engine):
    if not busybox_engine.snapshotter.name.startswith("overlay"):
        pytest.skip("this home uses copy snapshots, which proot can use")
    with pytest.raises(InvalidArgument, match="proot"):
        busybox_engine.containers.create("busybox", RunOptions(command=["true"], isolation="proot"))
    assert busybox_engine.containers.ps(all=True).rows == []


def _root_mount(engine, **options):
    config, code, out, err = run(engine, "grep", " / / ", "/proc/self/mountinfo", **options)
    assert code == 0, err
    return config, out


def test_only_an_rm_containers_layer_skips_syncs(busybox_engine, needs_namespaces: None):
    # --rm: the layer goes at exit, so its overlay is volatile (no syncfs of the host's whole
    # filesystem as its mount namespace goes); a kept container's layer stays durable, and
    # starts again.
    engine = busybox_engine
    if not engine.snapshotter.name.startswith("overlay"):
        pytest.skip("this home's snapshotter mounts no overlay")
    config, line = _root_mount(engine, auto_remove=True)
    assert "overlay" in line and "volatile" in line
    with pytest.raises(NotFound):
        engine.containers.get(config.id)
    from minidock_magic.snapshots.local import removals
    removals.drain()  # its layer's files went in the background
    assert engine.snapshotter.cleanup() == []
    assert config.snapshot not in {info.key for info in engine.snapshotter.walk()}
    config, line = _root_mount(engine)
    assert "overlay" in line and "volatile" not in line
    out = io.BytesIO()
    assert engine.containers.start(config.id, attach=True, stdout=out)[1] == 0
    assert b"volatile" not in out.getvalue()


def test_create_rm_then_start_attached_removes_the_container(busybox_engine):
    engine = busybox_engine
    config = engine.containers.create("busybox", RunOptions(command=["true"], auto_remove=True))
    assert engine.containers.start(config.id, attach=True, stdout=io.BytesIO())[1] == 0
    with pytest.raises(NotFound):
        engine.containers.get(config.id)
