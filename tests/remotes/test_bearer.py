"""The Bearer-token flow end to end: docker-registry with a token server, and our own registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from minidock_magic.errors import Denied, Unauthorized
from minidock_magic.registry import RegistryServer, add_user
from minidock_magic.remotes import login, pull, push
from tests.remotes.conftest import PASSWORD, USER
from tests.remotes.token_server import SERVICE, TokenServer
from tests.servers import DockerRegistry

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DockerRegistry, TokenServer]]:
    root = tmp_path_factory.mktemp("docker-registry-token")
    tokens = TokenServer(root, USER, PASSWORD)
    registry = DockerRegistry(root, tokens.registry_auth())
    yield registry, tokens
    registry.stop()
    tokens.stop()


def test_anonymous_push_is_refused_in_one_line(busybox_engine, token_registry):
    registry, _ = token_registry
    name = f"{registry.address}/me/app:1"
    busybox_engine.tag("busybox", name)
    with pytest.raises(Unauthorized) as caught:
        push(busybox_engine, name)
    assert str(caught.value) == (f"unauthorized: authentication required to push to "
                                 f"{registry.address}/me/app — run 'minidock login {registry.address}'")


def test_wrong_password_stores_nothing(engine, token_registry):
    registry, _ = token_registry
    with pytest.raises(Unauthorized) as caught:
        login(engine, registry.address, USER, "not-the-password")
    assert "incorrect username or password" in str(caught.value)
    assert not (engine.home / "config.json").exists()


def test_login_then_push_and_pull_with_tokens(busybox_engine, second_engine, token_registry, lines):
    registry, tokens = token_registry
    name = f"{registry.address}/me/app:2"
    busybox_engine.tag("busybox", name)
    assert login(busybox_engine, registry.address, USER, PASSWORD, trace=lines) == "Login Succeeded"
    before = len(tokens.requests)
    digest = push(busybox_engine, name, trace=lines)
    # One token, asked for pull,push at the first challenge, serves the whole push.
    assert tokens.requests[before:] == [(USER, ["repository:me/app:pull,push"])]
    challenge = next(line for line in lines if "WWW-Authenticate: Bearer" in line)
    assert f'service="{SERVICE}"' in challenge and tokens.realm in challenge
    token_request = next(line for line in lines
                         if line.startswith(f"> GET {tokens.realm}") and "scope=" in line)
    assert token_request == (f"> GET {tokens.realm}?service={SERVICE}&scope=repository:me/app:pull,push "
                             "Authorization: Basic ***")
    assert any(line.endswith("Authorization: Bearer ***") for line in lines)
    for secret in [PASSWORD, *tokens.issued]:
        assert secret not in lines.text

    # Anonymous pulls of pub/… get a pull-only token; me/… needs the login.
    busybox_engine.tag("busybox", f"{registry.address}/pub/bb:1")
    push(busybox_engine, f"{registry.address}/pub/bb:1")
    assert pull(second_engine, f"{registry.address}/pub/bb:1").digest == digest
    assert tokens.requests[-1] == (None, ["repository:pub/bb:pull"])
    with pytest.raises(Unauthorized):
        pull(second_engine, name)


def test_bearer_flow_against_our_own_registry_in_public_mode(busybox_engine, second_engine, tmp_path, lines):
    add_user(tmp_path / "htpasswd", "alice", "alice-pw-1")
    with RegistryServer(tmp_path / "data", auth_mode="public", htpasswd=tmp_path / "htpasswd") as server:
        mine, theirs = f"{server.address}/alice/bb:1", f"{server.address}/bob/bb:1"
        busybox_engine.tag("busybox", mine)
        busybox_engine.tag("busybox", theirs)
        with pytest.raises(Unauthorized):
            push(busybox_engine, mine)
        login(busybox_engine, server.address, "alice", "alice-pw-1")
        digest = push(busybox_engine, mine, trace=lines)
        assert any("WWW-Authenticate: Bearer" in line for line in lines)
        assert "alice-pw-1" not in lines.text
        with pytest.raises((Denied, Unauthorized)):
            push(busybox_engine, theirs)  # only into your own namespace, as on Docker Hub
        assert pull(second_engine, mine).digest == digest  # anonymous pull
