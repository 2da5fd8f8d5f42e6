"""Lesson 9's checks against real containers: not yet, the hints on the way, then done."""

from __future__ import annotations

import io

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.lessons import CANNOT, DONE, HINT, TODO, backend, check, free_port, use_language
from minidock_magic.lessons.network import _get
from tests.containers.ports_scenarios import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SITE = ["sh", "-c", ("mkdir -p /www && echo '<p>my page</p>' > /www/index.html && "
                     "exec httpd -f -p 80 -h /www")]


@pytest.fixture
def engine(busybox_engine):
    use_language("en")
    yield busybox_engine
    for config in busybox_engine.containers.store.list():
        busybox_engine.containers.remove(config.id, force=True)


@pytest.mark.usefixtures("needs_namespaces")
def test_own_site_and_its_neighbour(engine) -> None:
    assert check("9.1", engine).status == TODO
    engine.containers.run("busybox", RunOptions(command=SITE, name="mysite"), detach=True)
    assert "publishes no port 80" in check("9.1", engine).message
    engine.containers.remove("mysite", force=True)
    engine.containers.run("busybox", RunOptions(command=SITE, name="mysite",
                                                publish=[f"{free_port()}:80"]), detach=True)
    assert wait_for(lambda: check("9.1", engine).status == DONE), check("9.1", engine).message

    assert check("9.2", engine).status == TODO
    engine.containers.run("busybox", RunOptions(command=["true"], name="visitor"),
                          stdout=io.BytesIO(), stderr=io.BytesIO())
    assert check("9.2", engine).status == HINT  # its own network, not mysite's
    engine.containers.remove("visitor")
    _, code = engine.containers.run("busybox", RunOptions(
        command=["wget", "-qO", "/page.html", "http://localhost/"], name="visitor",
        network="container:mysite"), stdout=io.BytesIO(), stderr=io.BytesIO())
    assert code == 0 and check("9.2", engine).status == DONE


def test_never_ticked_where_containers_have_no_network_namespace(engine, monkeypatch) -> None:
    """Under proot every container shares the host's network: once lesson 9's work has begun
    the answers say it cannot be checked here, even when the page answers (no false ✔)."""
    monkeypatch.setattr(backend, "host_isolation", lambda: "proot")
    assert check("9.1", engine).status == TODO and check("9.2", engine).status == TODO
    engine.tag("busybox", "mysite:1")  # the image of 9.1 is built: the exercise has begun
    for exercise in ("9.1", "9.2"):
        assert check(exercise, engine).status == CANNOT, check(exercise, engine).message
    # What proot accepts (-p N:N, a server on that port): everything works, nothing is ticked.
    port = free_port()
    serve = SITE[:2] + [SITE[2].replace("-p 80", f"-p {port}")]
    engine.containers.run("busybox", RunOptions(command=serve, name="mysite",
                                                publish=[f"{port}:{port}"]), detach=True)
    assert wait_for(lambda: _get("127.0.0.1", port) is not None)
    _, code = engine.containers.run("busybox", RunOptions(
        command=["wget", "-qO", "/page.html", f"http://localhost:{port}/"], name="visitor",
        network="container:mysite"), stdout=io.BytesIO(), stderr=io.BytesIO())
    assert code == 0
    for exercise in ("9.1", "9.2"):
        answer = check(exercise, engine)
        assert answer.status == CANNOT and not answer and "proot" in answer.message
        assert str(answer).startswith(f"⊘ {exercise} Cannot be checked on this host — ")
    assert check("9.2", engine, lang="zh").label == "在这台机器上无法检查"
