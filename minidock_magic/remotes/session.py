"""What pull, push and login share: the engine's stores they touch, and a client for a host.

The engine is seen through a small Protocol (:class:`..images.stores.Stores`: content, names,
layout) rather than the facade class, so this package sits below the facade.
"""

from __future__ import annotations

from ..errors import InvalidArgument
from ..images.stores import Stores
from ..oci.descriptor import Platform
from .client import RegistryClient
from .credentials import CredentialStore
from .records import BlobSources
from .trace import Sink

#: The engine as pull, push and login see it: its stores (one Protocol for every service).
Engine = Stores


def credential_store(engine: Engine) -> CredentialStore:
    return CredentialStore(engine.layout.home / "config.json",
                           lock_path=engine.layout.locks / "credentials.lock")


def blob_sources(engine: Engine) -> BlobSources:
    return BlobSources(engine.layout.home / "remotes.json", engine.layout.locks / "remotes.lock")


def open_client(engine: Engine, host: str, *, trace: Sink | None = None,
                insecure: bool | None = None) -> RegistryClient:
    """A client for ``host`` carrying the login stored for it (ours, else docker's), if any."""
    return RegistryClient(host, credentials=credential_store(engine).get(host), trace=trace,
                          insecure=insecure)


def parse_platform(text: str | Platform | None) -> Platform:
    """``linux/arm64/v8`` → Platform; None → this host.

    >>> str(parse_platform("linux/arm64/v8")), parse_platform("linux/amd64").variant
    ('linux/arm64/v8', None)
    """
    if text is None:
        return Platform.host()
    if isinstance(text, Platform):
        return text
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidArgument(f"invalid platform {text!r}: expected os/arch[/variant], e.g. linux/arm64")
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else None)
