"""Build fixtures: a reproducible epoch, contexts written from a dict, and a build that records
its output."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from minidock_magic.build.builder import build
from minidock_magic.facade import Minidock
from tests.conftest import tree_listing  # noqa: F401  (re-exported for the build tests)

EPOCH = "1700000000"

SIX_STEPS = """\
FROM busybox
COPY hello.txt /app/
RUN cat /app/hello.txt && echo built > /app/built.txt
ENV GREETING=hi
RUN echo "$GREETING" > /app/greeting && rm /app/built.txt
CMD ["cat", "/app/greeting"]
"""


@pytest.fixture
def epoch(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    return EPOCH


def write_tree(root: Path, files: dict[str, str | bytes | None]) -> Path:
    """``None`` makes a directory; ``"->target"`` a symlink."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(exist_ok=True)
        elif isinstance(content, str) and content.startswith("->"):
            path.symlink_to(content[2:])
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def context(tmp_path: Path) -> Callable[..., Path]:
    def make(files: dict[str, str | bytes | None], name: str = "ctx") -> Path:
        return write_tree(tmp_path / name, files)
    return make


class Built:
    """One build's image and the lines it printed."""

    def __init__(self, image: Any, output: str) -> None:
        self.image, self.output = image, output

    @property
    def cache_hits(self) -> int:
        return self.output.count(" ---> Using cache")


@pytest.fixture
def do_build(busybox_engine: Minidock) -> Callable[..., Built]:
    def run(context: Path | None, dockerfile: str | None = None, **options: Any) -> Built:
        out = io.StringIO()
        image = build(options.pop("engine", busybox_engine), context, dockerfile, out=out, **options)
        return Built(image, out.getvalue())
    return run
