"""``-p`` and ``--network`` on the command line: docker's exit codes, one line, nothing made."""

from __future__ import annotations

import socket

import pytest

from tests.cli.test_cli import home, minidock  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("needs_namespaces")]


@pytest.mark.parametrize("flags", [["-p", "http:80"], ["-p", "8080:80/udp"], ["-p", "99999:80"],
                                   ["--network", "bridge"], ["--network", "container:nobody"]])
def test_bad_network_flags_are_125_and_change_nothing(home, flags):  # noqa: F811
    result = minidock(home, "run", *flags, "busybox", "true")
    assert result.returncode == 125, result.stderr
    assert len(result.stderr.decode().strip().splitlines()) == 1, result.stderr
    assert minidock(home, "ps", "-aq").stdout == b""


def test_port_in_use_is_one_line_and_125(home):  # noqa: F811
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = minidock(home, "run", "-d", "-p", f"{port}:80", "busybox", "true")
    assert result.returncode == 125
    assert result.stderr.decode().strip() == \
        f"Error: Bind for 127.0.0.1:{port} failed: port is already allocated"


def test_port_ps_and_inspect_as_docker_shows_them(home):  # noqa: F811
    assert minidock(home, "run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox",
                    "sleep", "60").returncode == 0
    try:
        line = minidock(home, "port", "web").stdout.decode().strip()
        assert line.startswith("80/tcp -> 127.0.0.1:")
        host = line.split(" -> ")[1]
        assert minidock(home, "port", "web", "80/tcp").stdout.decode().strip() == host
        assert f"{host}->80/tcp" in minidock(home, "ps").stdout.decode()
        missing = minidock(home, "port", "web", "81")
        assert missing.returncode == 1 and b"No public port '81/tcp'" in missing.stderr
    finally:
        minidock(home, "rm", "-f", "web")
