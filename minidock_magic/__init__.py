"""minidock_magic: images, containers and registries, taught on a real daemon-less engine.

The engine (``Minidock``) is importable without IPython; ``%load_ext minidock_magic`` loads the
magics lazily.
"""

from __future__ import annotations

__version__ = "0.1.0"


# (No `typing` import here: every container start imports this package in a fresh helper.)
def load_ipython_extension(ipython: object) -> None:
    from .magics import load_ipython_extension as load

    load(ipython)
