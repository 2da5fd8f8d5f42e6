"""Widgets for the notebook: click through an image's layers and files (``dive``-like), see a
container's writable layer on its read-only stack, and drive its lifecycle with buttons.

The pure parts (:mod:`.layers`, :mod:`.tars`, :mod:`.preview`) import no widget library; the
widget modules are imported on first use, so ``import minidock_magic.display`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..facade import Minidock
    from .container_view import ContainerPanel, ContainerView, LifecyclePanel
    from .explorer import ImageExplorer


def explore(engine: Minidock, image_text: str) -> ImageExplorer:
    """Layers, files, A/C/D marks, wasted space and file contents of one image."""
    from .explorer import ImageExplorer
    return ImageExplorer(engine, image_text)


def container_view(engine: Minidock, text: str) -> ContainerView:
    """A container's writable layer (its diff) over the image layers beneath it."""
    from .container_view import ContainerView
    return ContainerView(engine, text)


def lifecycle_panel(engine: Minidock, text: str) -> LifecyclePanel:
    """Start / stop / restart / rm buttons, the container's state and its logs."""
    from .container_view import LifecyclePanel
    return LifecyclePanel(engine, text)


def container_panel(engine: Minidock, text: str) -> ContainerPanel:
    """``%dock panel``: the container's layers and diff above its lifecycle buttons."""
    from .container_view import ContainerPanel
    return ContainerPanel(engine, text)


__all__ = ["container_panel", "container_view", "explore", "lifecycle_panel"]
