"""minidock_magic: images, containers and registries, taught on a real daemon-less engine.

The engine (``Minidock``) is importable without IPython; ``%load_ext minidock_magic`` loads the
magics lazily.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load_ipython_extension(ipython: Any) -> None:
    from .magics import load_ipython_extension as load

    load(ipython)
