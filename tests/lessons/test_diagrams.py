"""The lessons' pictures, rendered by Graphviz and looked at as a student would: stacks read
bottom-up (the base below what is built on it, a container's writable layer on top), read-only
and writable are marked, and a shared layer is visibly shared — in English and in Chinese."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from minidock_magic import i18n
from minidock_magic.diagrams import SHARED_FILL, LayerGraph, image_graph, registry_graph
from tests.notebook.test_magics import child_of_busybox

MARKS = {"en": {"ro": "R/O", "rw": "R/W", "shared": "shared by 3 images", "repos": "in 2 repositories"},
         "zh": {"ro": "只读", "rw": "可写", "shared": "3 个镜像共享", "repos": "2 个仓库共用"}}


def node_heights(svg: str) -> dict[str, float]:
    """Each node's vertical position in the SVG (its first text line's y: larger is lower)."""
    found = {}
    for block in re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, re.S):
        title = re.search(r"<title>(.*?)</title>", block).group(1)
        found[title.replace("&#45;", "-")] = float(re.search(r'<text[^>]* y="(-?[\d.]+)"', block).group(1))
    return found


def node_block(svg: str, title: str) -> str:
    return next(b for b in re.findall(r'<g id="node\d+" class="node">(.*?)</g>', svg, re.S)
                if f"<title>{title}</title>" in b)


def render(graph: LayerGraph, where: Path) -> str:
    """PNG (what a student sees) and SVG (where positions can be read) from the same DOT text."""
    png = where.with_suffix(".png")
    subprocess.run(["dot", "-Tpng", "-o", str(png)], input=graph.to_dot(), text=True, check=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 2000
    return graph.svg()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_2_4_6_graph_is_a_stack_base_at_the_bottom(busybox_engine, tmp_path, lang):
    """Lessons 2 and 6: two images on busybox; lesson 4: a container on one of them."""
    child_of_busybox(busybox_engine, tmp_path, "web")
    child_of_busybox(busybox_engine, tmp_path, "tools")
    images = busybox_engine.list_images()
    web = busybox_engine.image("web:1")
    containers = [("box", web)]
    graph = image_graph(images, containers, lang=lang)
    svg = render(graph, tmp_path / f"layers-{lang}")
    y = node_heights(svg)

    base, top = (f"layer:{c.encoded[:16]}" for c in web.config.chain_ids)
    image, container = f"image:{web.digest.encoded[:16]}", "container:box"
    assert y[base] > y[top] > y[image] > y[container], y  # base lowest, the R/W layer highest

    marks = MARKS[lang]
    shared = node_block(svg, base)
    assert marks["shared"] in shared and marks["ro"] in shared
    assert SHARED_FILL in shared and 'stroke-width="2.5"' in shared  # drawn once, and marked
    assert marks["shared"] not in node_block(svg, top)
    assert marks["rw"] in node_block(svg, container)
    assert sum(1 for e in graph.edges if e[0] == base) == 3  # three stacks stand on the one base


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lesson_7_registry_graph_blobs_below_the_repositories_that_share_them(tmp_path, lang):
    layer, config_a, config_b = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
    graph = registry_graph([("alice/hello", ["1"], [(layer, 1_036_144), (config_a, 483)]),
                            ("bob/hello", ["1"], [(layer, 1_036_144), (config_b, 490)])], lang=lang)
    svg = render(graph, tmp_path / f"registry-{lang}")
    y = node_heights(svg)
    blob = f"blob:{'a' * 16}"
    assert y[blob] > y["repo:alice/hello"] and y[blob] > y["repo:bob/hello"]
    assert MARKS[lang]["repos"] in node_block(svg, blob)


def test_the_language_setting_reaches_the_engines_graph(busybox_engine, monkeypatch):
    monkeypatch.setattr(i18n, "_language", None)
    i18n.use_language("zh")
    assert "只读" in busybox_engine.graph().to_dot()
    i18n.use_language("en")
    assert "R/O" in busybox_engine.graph().to_dot()


def test_config_language_chooses_the_labels(busybox_engine, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    monkeypatch.setattr(i18n, "_language", None)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "minidock_magic")
    shell.run_line_magic("config", f"DockMagics.home = {str(busybox_engine.home)!r}")
    shell.run_line_magic("config", "DockMagics.language = 'zh'")
    assert "只读" in shell.run_line_magic("dock", "graph").to_dot()
    shell.run_line_magic("config", "DockMagics.language = 'en'")
    assert "R/O" in shell.run_line_magic("dock", "graph").to_dot()
    shell.run_line_magic("config", "DockMagics.home = ''")
