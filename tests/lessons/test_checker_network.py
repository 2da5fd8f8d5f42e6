"""Lesson 9's checks against real containers: not yet, the hints on the way, then done."""

from __future__ import annotations

import io

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.lessons import DONE, HINT, TODO, check, free_port, use_language
from tests.containers.ports_scenarios import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("needs_namespaces")]

SITE = ["sh", "-c", ("mkdir -p /www && echo '<p>my page</p>' > /www/index.html && "
                     "exec httpd -f -p 80 -h /www")]


@pytest.fixture
def engine(busybox_engine):
    use_language("en")
    yield busybox_engine
    for config in busybox_engine.containers.store.list():
        busybox_engine.containers.remove(config.id, force=True)


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
