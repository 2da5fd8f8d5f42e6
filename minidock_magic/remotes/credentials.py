"""Registry logins, kept in the docker ``config.json`` format so docker, podman and skopeo agree.

Ours live at ``<home>/config.json`` (mode 0600)::

    {"auths": {"localhost:5000": {"auth": "<base64 of user:password>"}}}

Docker Hub is keyed ``https://index.docker.io/v1/``, as docker keys it. When we have nothing for a
host, ``$DOCKER_CONFIG/config.json`` and ``~/.docker/config.json`` are read too (never written),
so a student who ran ``docker login`` is logged in here as well.

The password is a secret: a ``Credential`` prints as ``Credential(username='me', password='***')``.

>>> Credential("me", "s3cret")
Credential(username='me', password='***')
>>> config_key("docker.io"), config_key("http://localhost:5000/v2/")
('https://index.docker.io/v1/', 'localhost:5000')
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..content.atomic import atomic_write_bytes, locked
from ..errors import InvalidArgument

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


@dataclass(frozen=True, slots=True)
class Credential:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credential(username={self.username!r}, password='***')"

    __str__ = __repr__

    def basic(self) -> str:
        """The value of an ``Authorization: Basic …`` header."""
        return base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def server_host(server: str) -> str:
    """``https://localhost:5000/v2/`` → ``localhost:5000``; every Docker Hub alias → ``docker.io``.

    docker's own keys carry a scheme and a path (``https://index.docker.io/v1/``), people type bare
    hosts: both must find the same entry.
    """
    text = server.strip()
    for scheme in ("https://", "http://"):
        text = text.removeprefix(scheme)
    host = text.split("/", 1)[0].lower()
    if not host:
        raise InvalidArgument(f"invalid registry address {server!r}")
    return "docker.io" if host in _HUB_HOSTS else host


def config_key(server: str) -> str:
    host = server_host(server)
    return DOCKER_HUB_KEY if host == "docker.io" else host


def _decode(entry: Any) -> Credential | None:
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        return Credential(user, password) if sep and user else None
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credential(entry["username"], entry["password"])
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # an unreadable docker config must not break our own logins
    return data if isinstance(data, dict) else {}


def docker_config_paths() -> list[Path]:
    """Where docker keeps its logins: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``."""
    configured = os.environ.get("DOCKER_CONFIG")
    if configured:
        return [Path(configured) / "config.json"]
    return [Path.home() / ".docker" / "config.json"]


class CredentialStore:
    """Read ``path`` then the docker fallbacks; write only ``path`` (atomically, 0600)."""

    def __init__(self, path: Path, *, fallbacks: list[Path] | None = None,
                 lock_path: Path | None = None) -> None:
        self.path = Path(path)
        self.fallbacks = docker_config_paths() if fallbacks is None else list(fallbacks)
        self._lock_path = lock_path or self.path.with_name(".config.json.lock")

    def get(self, server: str) -> Credential | None:
        host = server_host(server)
        for path in (self.path, *self.fallbacks):
            auths = _read(path).get("auths")
            if not isinstance(auths, dict):
                continue
            for key, entry in auths.items():
                if isinstance(key, str) and _same_host(key, host):
                    found = _decode(entry)
                    if found is not None:
                        return found
        return None

    def hosts(self) -> list[str]:
        auths = _read(self.path).get("auths")
        return sorted(server_host(k) for k in auths) if isinstance(auths, dict) else []

    def store(self, server: str, credential: Credential) -> None:
        if ":" in credential.username:
            raise InvalidArgument("a user name cannot contain ':'")
        with locked(self._lock_path):
            data = _read(self.path)
            found = data.get("auths")
            auths = {k: v for k, v in (found.items() if isinstance(found, dict) else ())
                     if not _same_host(k, server_host(server))}
            auths[config_key(server)] = {"auth": credential.basic()}
            data["auths"] = auths
            self._write(data)

    def remove(self, server: str) -> bool:
        """Forget the login for ``server``; False when there was none in our file."""
        host = server_host(server)
        with locked(self._lock_path):
            data = _read(self.path)
            auths = data.get("auths")
            if not isinstance(auths, dict):
                return False
            kept = {k: v for k, v in auths.items() if not _same_host(k, host)}
            if len(kept) == len(auths):
                return False
            data["auths"] = kept
            self._write(data)
        return True

    def _write(self, data: dict[str, Any]) -> None:
        atomic_write_bytes(self.path, (json.dumps(data, indent="\t") + "\n").encode(), mode=0o600)


def _same_host(key: str, host: str) -> bool:
    try:
        return server_host(key) == host
    except InvalidArgument:
        return False
