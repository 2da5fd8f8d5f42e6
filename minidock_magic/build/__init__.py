"""Building images from a Dockerfile (data flow 6 of the design).

- :mod:`.words` — quotes, escapes and ``$VAR`` substitution, as docker's shell lexer (pure);
- :mod:`.parser` — Dockerfile text -> stages of instructions with line numbers (pure);
- :mod:`.plan` — instructions + build args -> substituted steps and run configs (pure);
- :mod:`.ignore`, :mod:`.context` — ``.dockerignore`` and what COPY reads, with a content hash;
- :mod:`.staging` — COPY/ADD/WORKDIR layers written without a container;
- :mod:`.running` — RUN in a temporary container, its writable layer as the step's layer;
- :mod:`.cache` — the visible build cache under ``<home>/build-cache/``;
- :mod:`.builder` — :func:`build`, which walks the steps.
"""

from .builder import build
from .parser import parse

__all__ = ["build", "parse"]
