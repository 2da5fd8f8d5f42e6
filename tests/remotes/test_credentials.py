"""Logins in docker's config.json format: round trip, file mode, fallbacks, and no leaks."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from minidock_magic.errors import InvalidArgument
from minidock_magic.remotes.credentials import (
    DOCKER_HUB_KEY,
    Credential,
    CredentialStore,
    config_key,
    server_host,
)


def test_round_trip_in_docker_format(tmp_path):
    store = CredentialStore(tmp_path / "config.json", fallbacks=[])
    store.store("localhost:5000", Credential("me", "p:ss wörd"))
    store.store("docker.io", Credential("hub", "hubpw"))
    data = json.loads((tmp_path / "config.json").read_text())
    assert set(data["auths"]) == {"localhost:5000", DOCKER_HUB_KEY}
    assert base64.b64decode(data["auths"]["localhost:5000"]["auth"]).decode() == "me:p:ss wörd"
    assert stat.S_IMODE((tmp_path / "config.json").stat().st_mode) == 0o600
    assert store.get("localhost:5000") == Credential("me", "p:ss wörd")
    assert store.get("http://localhost:5000/v2/") == Credential("me", "p:ss wörd")
    assert store.get("index.docker.io") == Credential("hub", "hubpw")
    assert store.get("other:5000") is None
    assert store.hosts() == ["docker.io", "localhost:5000"]


def test_other_settings_in_the_file_are_kept(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"https://localhost:5000": {"auth": "eDp5"}}, "psFormat": "x"}))
    store = CredentialStore(path, fallbacks=[])
    assert store.get("localhost:5000") == Credential("x", "y")
    store.store("localhost:5000", Credential("me", "pw"))
    data = json.loads(path.read_text())
    assert data["psFormat"] == "x" and list(data["auths"]) == ["localhost:5000"]
    assert store.remove("localhost:5000") is True
    assert store.remove("localhost:5000") is False
    assert json.loads(path.read_text()) == {"auths": {}, "psFormat": "x"}


def test_docker_config_is_read_but_never_written(tmp_path, monkeypatch):
    docker = tmp_path / "docker"
    docker.mkdir()
    theirs = {"auths": {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"d:dpw").decode()},
                        "reg.example": {"username": "u", "password": "p"}}}
    (docker / "config.json").write_text(json.dumps(theirs))
    monkeypatch.setenv("DOCKER_CONFIG", str(docker))
    store = CredentialStore(tmp_path / "home" / "config.json")
    assert store.get("docker.io") == Credential("d", "dpw")
    assert store.get("reg.example") == Credential("u", "p")
    store.store("docker.io", Credential("mine", "minepw"))
    assert store.get("docker.io") == Credential("mine", "minepw")  # ours first
    assert json.loads((docker / "config.json").read_text()) == theirs


def test_broken_files_and_entries_are_ignored(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json")
    assert CredentialStore(path, fallbacks=[]).get("x") is None
    no_colon = base64.b64encode(b"nocolon").decode()
    path.write_text(json.dumps({"auths": {"x": {"auth": "!!!"}, "y": {"auth": no_colon}}}))
    assert CredentialStore(path, fallbacks=[]).get("x") is None
    assert CredentialStore(path, fallbacks=[]).get("y") is None


def test_the_password_never_shows():
    credential = Credential("me", "hunter2-secret")
    for text in (repr(credential), str(credential), f"{credential}", repr([credential])):
        assert "hunter2" not in text and "me" in text


def test_server_names():
    assert server_host("https://index.docker.io/v1/") == "docker.io"
    assert server_host("registry-1.docker.io") == "docker.io"
    assert server_host("LOCALHOST:5000") == "localhost:5000"
    assert config_key("index.docker.io") == DOCKER_HUB_KEY
    assert config_key("[::1]:5000") == "[::1]:5000"
    with pytest.raises(InvalidArgument):
        server_host("https://")
    with pytest.raises(InvalidArgument):
        CredentialStore(__import__("pathlib").Path("/nonexistent/c.json"), fallbacks=[]).store(
            "x", Credential("a:b", "c"))
