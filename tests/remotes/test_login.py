"""Logins against a real htpasswd (bcrypt) docker-registry: Basic auth end to end."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from minidock_magic.errors import Unauthorized
from minidock_magic.remotes import login, logout, pull, push
from tests.remotes.conftest import PASSWORD, USER

pytestmark = pytest.mark.integration


def test_push_needs_a_login_and_a_wrong_password_stores_nothing(busybox_engine, basic_registry, lines):
    name = f"{basic_registry.address}/me/private:1"
    busybox_engine.tag("busybox", name)
    with pytest.raises(Unauthorized) as caught:
        push(busybox_engine, name)
    assert str(caught.value) == (f"unauthorized: authentication required to push to {name.rsplit(':', 1)[0]}"
                                 f" — run 'minidock login {basic_registry.address}'")

    with pytest.raises(Unauthorized) as refused:
        login(busybox_engine, basic_registry.address, USER, "wrong-password", trace=lines)
    assert "incorrect username or password" in str(refused.value)
    assert not (busybox_engine.home / "config.json").exists()
    assert "wrong-password" not in lines.text


def test_login_push_pull_logout(busybox_engine, second_engine, basic_registry, lines):
    server = basic_registry.address
    name = f"{server}/me/private:2"
    busybox_engine.tag("busybox", name)
    assert login(busybox_engine, server, USER, PASSWORD, trace=lines) == "Login Succeeded"
    config = busybox_engine.home / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    entry = json.loads(config.read_text())["auths"][server]
    assert base64.b64decode(entry["auth"]).decode() == f"{USER}:{PASSWORD}"

    digest = push(busybox_engine, name, trace=lines)
    assert any("Authorization: Basic ***" in line for line in lines)
    assert any("WWW-Authenticate: Basic" in line for line in lines)
    secret = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert PASSWORD not in lines.text and secret not in lines.text

    # The far end logs in too (a login belongs to a home, like docker's to a user).
    login(second_engine, server, USER, PASSWORD)
    assert pull(second_engine, name).digest == digest

    assert logout(busybox_engine, server) == f"Removing login credentials for {server}"
    assert json.loads(config.read_text())["auths"] == {}
    assert logout(busybox_engine, server) == f"Not logged in to {server}"
    with pytest.raises(Unauthorized):
        push(busybox_engine, name)
