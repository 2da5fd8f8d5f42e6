"""Small pictures and one-liners the lessons show, in the kernel's language.

``isolation()`` is the one line a lesson needs about the host (``%dock info`` stays the full
report); ``digests("busybox")`` draws one image's five kinds of sha256 and what points at what.
"""

from __future__ import annotations

from typing import Any

from .. import i18n
from ..diagrams import LayerGraph, digest_graph
from .checker import current_engine


class Line(str):
    """A line of text that a notebook shows as it is (not as a quoted string)."""

    def __repr__(self) -> str:
        return str(self)


def isolation(engine: Any = None) -> Line:
    """``Isolation on this machine: namespaces — real Linux namespaces (full report: %dock info)``."""
    from ..runtime import probe_host
    engine = engine if engine is not None else current_engine()
    chosen = probe_host().default_isolation()
    kind = chosen.value if chosen is not None else "none"
    return Line(i18n.text("isolation", kind=kind, meaning=i18n.text(f"isolation_{kind}")))


def digests(name: str, engine: Any = None) -> LayerGraph:
    """The manifest digest, the IMAGE ID (config digest), layer digests, diff_ids and ChainIDs of
    one image, as a picture."""
    engine = engine if engine is not None else current_engine()
    return digest_graph(engine.image(name))


__all__ = ["digests", "isolation"]
