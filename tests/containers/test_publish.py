"""The publish grammar and docker's ways of showing published ports (pure rules, by example)."""

from __future__ import annotations

import doctest
import importlib

import pytest

from minidock_magic.containers.publish import PortBinding, bindings_for, parse_publish
from minidock_magic.errors import InvalidArgument


@pytest.mark.parametrize("module", ["containers.publish", "runtime.netns", "runtime.spec"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"minidock_magic.{module}"))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("spec", ["", ":80", "8080:", "70000:80", "8080:0", "1.2.3:8080:80",
                                  "8000-8010:80", "8080:80/sctp", "a:b:c:d"])
def test_bad_specs_are_one_clear_error(spec: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_publish(spec)


def test_forms_docker_accepts() -> None:
    assert parse_publish("0.0.0.0:8080:80/tcp") == PortBinding("0.0.0.0", 8080, 80)
    assert parse_publish("127.0.0.1::80") == PortBinding("127.0.0.1", 0, 80)
    assert parse_publish(" 9000:9000 ") == PortBinding("127.0.0.1", 9000, 9000)


def test_a_host_port_published_twice_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="published twice"):
        bindings_for(["8080:80", "8080:81"], False, None)
    assert len(bindings_for(["80", "81"], False, None)) == 2  # two "any free port"s are fine
