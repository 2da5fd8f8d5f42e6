"""Which layers images share, as a graph: pure data and DOT text, rendered by Graphviz's ``dot``.

A layer is drawn once per ChainID (the layer *and everything beneath it*), which is exactly what
is shared on disk; an image points at the top of its stack; a container is a writable layer (可写层)
on top of its image's read-only layers (只读层). The same state always gives the same DOT text,
so notebook outputs can be compared by nbval.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import Unavailable
from .images.image import Image
from .results import Result, human_size

SHARED_FILL = "#ffe8a3"
LAYER_FILL = "#e8eef7"
IMAGE_FILL = "#cfe3ff"
CONTAINER_FILL = "#d5f5d5"


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    kind: str            # image | layer | container | repository | blob
    shared: bool = False


#: How a graph's one-line summary names each kind of node, in the order it lists them.
_KINDS = {"image": ("image", "images"), "layer": ("layer", "layers"),
          "container": ("container", "containers"), "repository": ("repository", "repositories"),
          "blob": ("blob", "blobs")}


@dataclass(frozen=True, repr=False)
class LayerGraph(Result):
    """A diagram: SVG in a notebook, DOT text from ``str()`` (what ``minidock graph`` prints), and
    a one-line count of what it shows from ``repr()`` (a notebook's text/plain)."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, to, style)
    title: str = ""

    def to_dot(self) -> str:
        lines = ["digraph layers {", '  graph [rankdir=BT, fontname="Helvetica", fontsize=11'
                 + (f', label="{_q(self.title)}", labelloc=t' if self.title else "") + "];",
                 '  node [fontname="Helvetica", fontsize=10, style=filled];']
        for node in self.nodes:
            lines.append(f'  "{node.id}" [{_attributes(node)}];')
        for source, target, style in self.edges:
            lines.append(f'  "{source}" -> "{target}" [style={style}];')
        lines.append("}")
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_dot()

    def __repr__(self) -> str:
        """``<LayerGraph: 3 images, 3 layers (1 shared), 1 container>``: the picture is the
        display; as text, the DOT source would be dozens of lines of node attributes."""
        parts = []
        for kind, (one, many) in _KINDS.items():
            nodes = [n for n in self.nodes if n.kind == kind]
            if nodes:
                shared = sum(n.shared for n in nodes)
                parts.append(f"{len(nodes)} {one if len(nodes) == 1 else many}"
                             + (f" ({shared} shared)" if shared else ""))
        return f"<LayerGraph: {', '.join(parts) or 'empty'}>"

    def svg(self) -> str:
        return draw_svg(self.to_dot())

    def _repr_svg_(self) -> str:
        return self.svg()

    def shared_layers(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "layer" and n.shared]


#: Seconds ``dot`` may take; the graphs here have tens of nodes and draw in milliseconds.
DOT_TIMEOUT = 60


def draw_svg(dot_source: str) -> str:
    """``dot_source`` drawn as SVG by Graphviz's ``dot``; a missing or failing ``dot`` is one
    :class:`~.errors.Unavailable` line (what went wrong, and what to do), never a traceback."""
    dot = shutil.which("dot")
    if dot is None:
        raise Unavailable("drawing needs Graphviz's 'dot': apt-get install graphviz")
    try:
        done = subprocess.run([dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=False,
                              timeout=DOT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"Graphviz's 'dot' did not draw the graph within {DOT_TIMEOUT} s") from None
    except OSError as exc:
        raise Unavailable(f"Graphviz's 'dot' ({dot}) could not be run: {exc.strerror}") from None
    if done.returncode != 0:
        why = next((line.strip() for line in done.stderr.splitlines() if line.strip()),
                   f"exit status {done.returncode}")
        raise Unavailable(f"Graphviz's 'dot' could not draw the graph: {why}")
    return done.stdout


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _attributes(node: Node) -> str:
    layer_fill = SHARED_FILL if node.shared else LAYER_FILL
    shape, fill = {"image": ("box", IMAGE_FILL), "container": ("box", CONTAINER_FILL),
                   "repository": ("folder", IMAGE_FILL), "blob": ("note", layer_fill)}.get(
        node.kind, ("box", layer_fill))
    style = "filled,rounded" if node.kind in ("image", "container") else "filled"
    if node.kind == "container":
        style += ",dashed"
    return f'label="{_q(node.label)}", shape={shape}, fillcolor="{fill}", style="{style}"'


def image_graph(images: list[Image], containers: Sequence[tuple[str, Image]] = ()) -> LayerGraph:
    """Images (and containers on them) over their layer stacks; shared layers drawn once."""
    images = sorted(images, key=lambda i: (i.display_name, str(i.digest)))
    users: Counter[str] = Counter()
    for image in images:
        for chain_id in {str(c) for c in image.config.chain_ids}:
            users[chain_id] += 1
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str, str]] = []
    for image in images:
        steps = {diff_id: step for step, diff_id in image.config.layer_history() if diff_id}
        below = None
        for chain, diff_id, layer in zip(image.config.chain_ids, image.config.diff_ids, image.layers):
            key = f"layer:{chain.encoded[:16]}"
            step = steps.get(diff_id)
            made_by = _clip((step.created_by or "") if step else "", 40)
            shared = users[str(chain)] > 1
            label = f"layer {layer.digest.short}\n{human_size(layer.size)}" + \
                    (f"\n{made_by}" if made_by else "") + (f"\nshared by {users[str(chain)]} images"
                                                           if shared else "")
            nodes.setdefault(key, Node(key, label, "layer", shared))
            if below is not None and (key, below, "solid") not in edges:
                edges.append((key, below, "solid"))
            below = key
        image_key = f"image:{image.digest.encoded[:16]}"
        names = "\n".join(n.familiar for n in image.names) or "<none>"
        nodes[image_key] = Node(image_key, f"{names}\nID {image.id.short}", "image")
        if below is not None:
            edges.append((image_key, below, "solid"))
    for name, image in sorted(containers, key=lambda c: c[0]):
        key = f"container:{name}"
        nodes[key] = Node(key, f"container {name}\nwritable layer (可写层)", "container")
        top = image.config.chain_ids[-1] if image.config.chain_ids else None
        edges.append((key, f"layer:{top.encoded[:16]}" if top else f"image:{image.digest.encoded[:16]}",
                      "dashed"))
    return LayerGraph(list(nodes.values()), edges, "Images, their layers, and what they share")


def registry_graph(contents: list[tuple[str, list[str], list[tuple[str, int]]]]) -> LayerGraph:
    """A registry (仓库服务器) and its repositories (仓库): each repository points at the blobs its
    images use; a blob held once but used by several repositories is drawn once and marked shared.
    ``contents`` is ``[(repository, tags, [(blob digest, size), …]), …]``."""
    users: Counter[str] = Counter()
    for _, _, blobs in contents:
        for digest in {d for d, _ in blobs}:
            users[digest] += 1
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str, str]] = []
    for repository, tags, blobs in sorted(contents):
        repo_key = f"repo:{repository}"
        nodes[repo_key] = Node(repo_key, f"{repository}\ntags: {', '.join(tags) or '-'}", "repository")
        for digest, size in sorted(set(blobs)):
            key = f"blob:{digest.split(':')[-1][:16]}"
            shared = users[digest] > 1
            label = f"blob {digest.split(':')[-1][:12]}\n{human_size(size)}" + \
                (f"\nin {users[digest]} repositories" if shared else "")
            nodes.setdefault(key, Node(key, label, "blob", shared))
            edges.append((repo_key, key, "solid"))
    return LayerGraph(list(nodes.values()), edges,
                      "A registry: repositories and the blobs they share (each stored once)")


def _clip(text: str, width: int) -> str:
    text = text.replace("/bin/sh -c #(nop) ", "").strip()
    return text if len(text) <= width else text[: width - 1] + "…"


__all__ = ["LayerGraph", "Node", "image_graph", "registry_graph"]
