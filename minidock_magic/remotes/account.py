"""login, logout, search, tags and manifest inspect: talking to a registry without moving images."""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidArgument, Unauthorized
from ..oci.reference import Reference
from .client import RegistryClient
from .credentials import DOCKER_HUB_KEY, Credential, config_key, server_host
from .session import Engine, credential_store, open_client
from .trace import Sink

DEFAULT_SERVER = "docker.io"


def login(engine: Engine, server: str | None, username: str, password: str, *,
          trace: Sink | None = None, insecure: bool | None = None) -> str:
    """Check the login against the registry (Basic, or a token fetched with it); store it only if
    the registry took it. Nothing is written for a refused login."""
    host = server_host(server or DEFAULT_SERVER)
    if not username:
        raise InvalidArgument("login needs a user name: -u USER")
    if not password:
        raise InvalidArgument("login needs a password: -p PASSWORD or --password-stdin")
    credential = Credential(username, password)
    with RegistryClient(host, credentials=credential, trace=trace, insecure=insecure) as client:
        try:
            client.ping()
        except Unauthorized:
            raise Unauthorized(f"unauthorized: incorrect username or password for {host} "
                               "(nothing was stored)") from None
    credential_store(engine).store(host, credential)
    return "Login Succeeded"


def logout(engine: Engine, server: str | None = None) -> str:
    host = server_host(server or DEFAULT_SERVER)
    if credential_store(engine).remove(host):
        return f"Removing login credentials for {config_key(host)}"
    return f"Not logged in to {DOCKER_HUB_KEY if host == 'docker.io' else host}"


def search(engine: Engine, term: str, server: str | None = None, *, limit: int = 25,
           trace: Sink | None = None, insecure: bool | None = None) -> list[str]:
    """Repositories whose name contains ``term``: the catalog of a registry, or Docker Hub's search."""
    host = server_host(server or DEFAULT_SERVER)
    with open_client(engine, host, trace=trace, insecure=insecure) as client:
        if host == DEFAULT_SERVER:
            return [str(r["name"]) for r in client.hub_search(term, limit) if "name" in r]
        names = client.catalog()
    return [f"{host}/{name}" for name in names if term.lower() in name.lower()][:limit]


def list_tags(engine: Engine, text: str, *, trace: Sink | None = None,
              insecure: bool | None = None) -> list[str]:
    """The tags a registry holds for a repository (``127.0.0.1:5000/me/busybox``)."""
    reference = Reference.parse(text)
    with open_client(engine, reference.domain, trace=trace, insecure=insecure) as client:
        return client.tags(reference.path)


def manifest_inspect(engine: Engine, text: str, *, trace: Sink | None = None,
                     insecure: bool | None = None) -> dict[str, Any]:
    """What the registry serves for a name — the manifest or index JSON, as ``docker manifest
    inspect`` prints it — without pulling anything."""
    reference = Reference.parse(text)
    with open_client(engine, reference.domain, trace=trace, insecure=insecure) as client:
        _, raw = client.resolve(reference)
    document = json.loads(raw)
    return document if isinstance(document, dict) else {"manifest": document}
