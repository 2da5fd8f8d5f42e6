"""What a service is handed of the engine: its stores, as a Protocol.

Services (``remotes/``, ``build/``) sit below the facade, so they cannot name ``Minidock``; they
name this instead, and the facade (or a test's own small engine) satisfies it. Frontends above
the facade are handed ``Minidock`` itself.
"""

from __future__ import annotations

from typing import Protocol

from ..content.store import ContentStore
from ..home import Layout
from .store import ImageStore


class Stores(Protocol):
    """The engine's content store (blobs), its names (an OCI ``index.json``) and its directories."""

    content: ContentStore
    names: ImageStore
    layout: Layout
