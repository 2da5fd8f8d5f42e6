"""Diagrams are drawn by the real Graphviz ``dot``; when it is missing or fails, one line says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock_magic.diagrams import LayerGraph, Node, draw_svg
from minidock_magic.errors import MinidockError, Unavailable
from tests.conftest import need


def test_a_graph_draws_as_svg() -> None:
    need("dot")
    graph = LayerGraph([Node("img", "busybox:latest", "image")], title="one image")
    svg = graph.svg()
    assert svg.lstrip().startswith("<?xml") and "busybox:latest" in svg


def test_a_missing_dot_is_one_line_saying_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no dot on it
    with pytest.raises(Unavailable) as caught:
        LayerGraph([Node("img", "busybox", "image")]).svg()
    assert "\n" not in str(caught.value) and "apt-get install graphviz" in str(caught.value)


def test_dot_refusing_its_input_is_one_line_not_a_called_process_error() -> None:
    need("dot")
    with pytest.raises(MinidockError) as caught:
        draw_svg('digraph { "unterminated\n')
    message = str(caught.value)
    assert isinstance(caught.value, Unavailable)
    assert "\n" not in message and "syntax error" in message, message
