"""Published ports and shared network namespaces, for real (as root; the same scenarios run as
an unprivileged user in ``test_ports_rootless.py``)."""

from __future__ import annotations

import os

import pytest

from tests.containers import ports_scenarios as scenarios

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("needs_namespaces")]

AS_ANY_USER = [name for name in scenarios.SCENARIOS if name != "scenario_privileged_port"]


@pytest.fixture
def engine(busybox_engine):
    yield busybox_engine
    for config in busybox_engine.containers.store.list():
        busybox_engine.containers.remove(config.id, force=True)


@pytest.mark.parametrize("name", AS_ANY_USER)
def test_scenario(engine, name: str) -> None:
    scenarios.SCENARIOS[name](engine)


def test_proot_shares_the_host_network_honestly(tmp_path, monkeypatch) -> None:
    """proot has no network namespace: the program's port is the host's. ``-p N:N`` is shown
    (and checked free first), a real mapping is refused, and nothing is forwarded."""
    import socket

    from minidock_magic.containers.options import RunOptions
    from minidock_magic.errors import InvalidArgument, MinidockError
    from minidock_magic.facade import Minidock
    monkeypatch.setenv("MINIDOCK_SNAPSHOTTER", "copy")  # proot cannot mount overlays
    engine = Minidock(tmp_path / "home")
    engine.bootstrap()
    with pytest.raises(InvalidArgument, match="proot.*-p 8080:80 cannot be mapped"):
        engine.containers.create("busybox", RunOptions(command=["true"], publish=["8080:80"],
                                                       isolation="proot"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine.containers.run("busybox", RunOptions(
        command=serve_on(port), name="p", publish=[f"{port}:{port}"], isolation="proot"),
        detach=True)
    try:
        assert engine.containers.port("p") == [f"{port}/tcp -> 127.0.0.1:{port}"]
        assert scenarios.wait_for(lambda: _answers(port)), "the program's own port did not answer"
        with pytest.raises(MinidockError, match="port is already allocated"):  # it is the host's now
            engine.containers.run("busybox", RunOptions(
                command=["true"], publish=[f"{port}:{port}"], isolation="proot"), detach=True)
    finally:
        for config in engine.containers.store.list():
            engine.containers.remove(config.id, force=True)


def serve_on(port: int) -> list[str]:
    return ["sh", "-c", (f"mkdir -p /www && echo hi > /www/index.html && "
                          f"exec httpd -f -p 127.0.0.1:{port} -h /www")]


def _answers(port: int) -> bool:
    try:
        return scenarios.fetch(port) == "hi\n"
    except OSError:
        return False


def test_publish_all_exposed_ports_of_an_attached_container(engine) -> None:
    """``-P`` publishes the image's EXPOSEd port on a free host port; a container run attached
    (its owner is this process, not a shim) forwards too, and closes the port when it exits."""
    import io
    import threading

    from minidock_magic.containers.options import RunOptions
    config, _ = engine.containers.run("busybox", RunOptions(command=["true"]),
                                       stdout=io.BytesIO(), stderr=io.BytesIO())
    engine.containers.commit(config.id, "exposed:1", changes=["EXPOSE 80"])
    command = scenarios.SERVE[:2] + [scenarios.SERVE[2].replace("exec httpd -f", "httpd") +
                                     " && sleep 3"]
    attached = threading.Thread(target=lambda: engine.containers.run(
        "exposed:1", RunOptions(command=command, name="attached", publish_all=True),
        stdout=io.BytesIO(), stderr=io.BytesIO()))
    attached.start()
    try:
        assert scenarios.wait_for(lambda: _published(engine, "attached"))
        port = int(engine.containers.port("attached", "80")[0].rsplit(":", 1)[1])
        assert scenarios.wait_for(lambda: _fetched(port) == scenarios.PAGE + "\n")
    finally:
        attached.join()
    assert scenarios.port_free(port) and engine.containers.port("attached") == []


def _fetched(port: int) -> str | None:
    try:
        return scenarios.fetch(port)
    except OSError:
        return None


def _published(engine, name: str) -> list[str]:
    from minidock_magic.errors import NotFound
    try:
        return engine.containers.port(name)
    except NotFound:  # not created yet
        return []


def test_the_forwarder_lives_in_the_containers_network_namespace(engine) -> None:
    """What keeps host-only ports out of reach: every connection the forwarder makes starts in
    the container's network namespace, never the host's."""
    if os.geteuid() != 0:  # test_ports_rootless covers the rootless forwarder end to end
        pytest.skip("the forwarder is not dumpable: only root may read its /proc/PID/ns")
    scenarios.serve(engine, "netns")
    state = engine.containers.store.state(engine.containers.get("netns").id)
    forwarders = [pid for pid in _children(state.owner_pid)
                  if b"minidock_magic.containers.forwarder" in _cmdline(pid)]
    assert len(forwarders) == 1
    inside = os.stat(f"/proc/{state.pid}/ns/net").st_ino
    assert os.stat(f"/proc/{forwarders[0]}/ns/net").st_ino == inside
    assert inside != os.stat("/proc/self/ns/net").st_ino


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]


def _cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read()


def test_a_container_over_before_its_ports_are_forwarded_just_exits(engine) -> None:
    """``run --rm -p … busybox echo hi``: the program may be gone before the forwarder can join
    its namespace; that is its normal exit, not an error."""
    import io

    from minidock_magic.containers.options import RunOptions
    for _ in range(3):
        out = io.BytesIO()
        _, code = engine.containers.run("busybox", RunOptions(
            command=["sh", "-c", "echo hi; exit 3"], publish=["127.0.0.1::80"], auto_remove=True),
            stdout=out, stderr=io.BytesIO())
        assert (code, out.getvalue()) == (3, b"hi\n")
