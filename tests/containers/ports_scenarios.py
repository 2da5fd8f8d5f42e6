"""Published-port scenarios, run as root by ``test_ports.py`` and as an unprivileged user by
``test_ports_rootless.py`` (so: the standard library and the engine only, no pytest).

Each ``scenario_*`` takes an engine with the busybox image and raises AssertionError if the
engine misbehaves.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from minidock_magic.containers.options import RunOptions
from minidock_magic.errors import MinidockError

PAGE = "hello from the container"
SERVE = ["sh", "-c", f"mkdir -p /www && echo '{PAGE}' > /www/index.html && exec httpd -f -p 80 -h /www"]


def serve(engine: Any, name: str, publish: str = "127.0.0.1::80") -> int:
    """A detached busybox httpd; the host port it was published on, once it answers."""
    engine.containers.run("busybox", RunOptions(command=SERVE, name=name, publish=[publish]),
                          detach=True)
    port = int(engine.containers.port(name, "80")[0].rsplit(":", 1)[1])
    deadline = time.monotonic() + 10
    while True:
        try:
            assert fetch(port) == PAGE + "\n"
            return port
        except (OSError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def fetch(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
        return answer.read().decode()


def port_free(port: int) -> bool:
    """Whether a server could listen there now (with SO_REUSEADDR, as servers do: a connection
    just closed leaves TIME_WAIT behind, which only a bare bind would count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def scenario_published_port_answers(engine: Any) -> None:
    port = serve(engine, "web")
    assert engine.containers.port("web") == [f"80/tcp -> 127.0.0.1:{port}"]
    shown = engine.containers.inspect("web")["NetworkSettings"]["Ports"]
    assert shown == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert f"127.0.0.1:{port}->80/tcp" in str(engine.containers.ps())


def scenario_stopped_frees_the_port(engine: Any) -> None:
    port = serve(engine, "stopping")
    assert not port_free(port)
    engine.containers.stop("stopping", 2)
    assert port_free(port), "the port is still taken after stop"
    assert engine.containers.port("stopping") == []
    port = serve(engine, "removed")
    engine.containers.remove("removed", force=True)
    assert port_free(port), "the port is still taken after rm -f"


def scenario_shim_killed(engine: Any) -> None:
    port = serve(engine, "orphan")
    config = engine.containers.get("orphan")
    os.kill(engine.containers.store.state(config.id).owner_pid, signal.SIGKILL)
    assert wait_for(lambda: port_free(port)), "the forwarder outlived its shim"
    assert wait_for(lambda: engine.containers.port("orphan") == []), "reconcile kept the ports"
    engine.containers.remove("orphan", force=True)


def scenario_forwarder_killed(engine: Any) -> None:
    """A forwarder killed on its own (the OOM killer, a user): the record stops showing the port."""
    port = serve(engine, "lost")
    config = engine.containers.get("lost")
    owner = engine.containers.store.state(config.id).owner_pid
    with open(f"/proc/{owner}/task/{owner}/children") as children:
        for child in children.read().split():
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                if b"containers.forwarder" in cmdline.read():
                    os.kill(int(child), signal.SIGKILL)
    assert wait_for(lambda: engine.containers.port("lost") == []), "a dead forwarder's port is shown"
    assert wait_for(lambda: port_free(port))
    assert engine.containers.lifecycle.running(config)  # the container itself runs on


def scenario_fifty_parallel(engine: Any) -> None:
    port = serve(engine, "busy")
    with ThreadPoolExecutor(50) as pool:
        bodies = list(pool.map(lambda _: fetch(port), range(50)))
    assert bodies == [PAGE + "\n"] * 50


def scenario_shared_network(engine: Any) -> None:
    serve(engine, "server")
    out, err = io.BytesIO(), io.BytesIO()
    _, code = engine.containers.run("busybox", RunOptions(
        command=["wget", "-qO-", "http://localhost:80/"], network="container:server"),
        stdout=out, stderr=err)
    assert (code, out.getvalue().decode()) == (0, PAGE + "\n"), err.getvalue()


def scenario_host_only_port_unreachable(engine: Any) -> None:
    """A host service on 127.0.0.1:P; a container publishes its own port P. Connections
    through the forwarder reach the container's P (nothing there), never the host's."""
    with socket.socket() as secret:
        secret.bind(("127.0.0.1", 0))
        secret.listen(8)
        host_port = secret.getsockname()[1]
        reached: list[bool] = []

        def answer() -> None:
            secret.settimeout(3)
            try:
                conn, _ = secret.accept()
            except OSError:
                return
            reached.append(True)
            conn.sendall(b"host secret\n")
            conn.close()

        listener = threading.Thread(target=answer)
        listener.start()
        engine.containers.run("busybox", RunOptions(command=["sleep", "60"], name="hostile",
                                                    publish=[f"127.0.0.1::{host_port}"]),
                              detach=True)
        published = int(engine.containers.port("hostile")[0].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", published), timeout=5) as client:
            try:
                got = client.recv(100)
            except ConnectionResetError:
                got = b""
        listener.join()
        assert got == b"" and not reached, "the forwarder reached a host-only port"
    engine.containers.remove("hostile", force=True)


def scenario_port_in_use(engine: Any) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        try:
            engine.containers.run("busybox", RunOptions(command=["true"], publish=[f"{port}:80"]),
                                  detach=True)
        except MinidockError as exc:
            assert str(exc) == f"Bind for 127.0.0.1:{port} failed: port is already allocated", exc
        else:
            raise AssertionError("a port in use was published")


def scenario_privileged_port(engine: Any) -> None:
    try:
        engine.containers.run("busybox", RunOptions(command=["true"], publish=["80:80"]),
                              detach=True)
    except MinidockError as exc:
        assert "privileged port 80" in str(exc), exc
    else:
        raise AssertionError("a non-root user published port 80")


SCENARIOS = {name: value for name, value in globals().items() if name.startswith("scenario_")}


def run_all(home: str, names: list[str]) -> dict[str, str]:
    """For the unprivileged run: every scenario in a fresh home, "ok" or what went wrong."""
    from minidock_magic.facade import Minidock
    results = {}
    for index, name in enumerate(names):
        engine = Minidock(f"{home}/{index}")
        engine.bootstrap()
        try:
            SCENARIOS[name](engine)
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            results[name] = f"{type(exc).__name__}: {exc}"
        finally:
            for config in engine.containers.store.list():
                engine.containers.remove(config.id, force=True)
    return results


if __name__ == "__main__":
    print(json.dumps(run_all(sys.argv[1], sys.argv[2:])))
