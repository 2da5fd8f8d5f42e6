"""The pull/push/login/… grammar, driven the way the CLI and %dock drive it."""

from __future__ import annotations

import io
import json

import pytest

from minidock_magic.commands import Parser, Streams, UsageError, remote
from tests.remotes.conftest import PASSWORD, USER


def parse(*argv: str):
    parser = Parser(prog="minidock")
    remote.register(parser.add_subparsers(dest="command", parser_class=Parser))
    return parser.parse_args(argv)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return False


def run(engine, *argv: str, stdin: str = ""):
    io_ = Streams(stdout=io.StringIO(), stderr=io.StringIO(), stdin=Terminal(stdin))
    args = parse(*argv)
    return args.handler(engine, args, io_), io_.stdout.getvalue(), io_.stderr.getvalue()


def test_grammar():
    args = parse("pull", "--platform", "linux/arm64", "-q", "--trace", "busybox")
    assert (args.platform, args.quiet, args.trace, args.name) == ("linux/arm64", True, True, "busybox")
    assert parse("login", "-u", "me", "--password-stdin", "localhost:5000").server == "localhost:5000"
    assert parse("login").server is None
    assert parse("manifest", "inspect", "x").name == "x"
    assert parse("search", "--registry", "localhost:5000", "bb").registry == "localhost:5000"
    with pytest.raises(UsageError):
        parse("login", "-p", "x", "--password-stdin")


def test_login_without_a_password_off_a_terminal_is_one_line(engine):
    with pytest.raises(UsageError) as caught:
        run(engine, "login", "-u", "me", "localhost:5000")
    assert "\n" not in str(caught.value) and "--password-stdin" in str(caught.value)
    with pytest.raises(UsageError):
        run(engine, "login", "--password-stdin", "localhost:5000", stdin="pw\n")


@pytest.mark.integration
def test_login_push_pull_inspect_through_the_handlers(busybox_engine, second_engine, basic_registry):
    server = basic_registry.address
    result, _, _ = run(busybox_engine, "login", "-u", USER, "--password-stdin", server, stdin=PASSWORD + "\n")
    assert result == "Login Succeeded"
    result, _, err = run(second_engine, "login", "-u", USER, "-p", PASSWORD, server)
    assert result == "Login Succeeded" and "insecure" in err

    name = f"{server}/cli/bb:1"
    busybox_engine.tag("busybox", name)
    result, out, _ = run(busybox_engine, "push", "--trace", name)
    assert result is None
    assert out.splitlines()[0] == f"The push refers to repository [{server}/cli/bb]"
    assert "> PUT /v2/cli/bb/manifests/1" in out and PASSWORD not in out

    result, out, _ = run(second_engine, "pull", "-q", name)
    assert result == name and out == ""
    manifest, _, _ = run(second_engine, "manifest", "inspect", name)
    assert manifest["layers"][0]["digest"] == str(busybox_engine.image(name).layers[0].digest)
    assert json.dumps(manifest)
    result, _, _ = run(second_engine, "logout", server)
    assert result == f"Removing login credentials for {server}"
