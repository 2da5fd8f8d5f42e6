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
from typing import Any

from .errors import Unavailable
from .i18n import text
from .images.image import Image
from .results import Result, human_size

#: Latin first; Graphviz falls back through fontconfig to a CJK font (binder/apt.txt) for 只读.
FONTS = "Helvetica,WenQuanYi Micro Hei,Noto Sans CJK SC,sans-serif"
SHARED_FILL = "#ffe8a3"
LAYER_FILL = "#e8eef7"
IMAGE_FILL = "#cfe3ff"
CONTAINER_FILL = "#d5f5d5"
DIGEST_FILL = "#f4ecff"


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
    direction: str = "BT"  # bottom-up: a base below what is built on it
    caption: str = ""  # the one-line text form, when counting nodes would not describe the picture

    def to_dot(self) -> str:
        lines = ["digraph layers {", f'  graph [rankdir={self.direction}, fontname="{FONTS}", fontsize=11'
                 + (f', label="{_q(self.title)}", labelloc=t' if self.title else "") + "];",
                 f'  node [fontname="{FONTS}", fontsize=10, style=filled];',
                 f'  edge [fontname="{FONTS}", fontsize=9];']
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
        if self.caption:
            return f"<LayerGraph: {self.caption}>"
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
                   "repository": ("folder", IMAGE_FILL), "blob": ("note", layer_fill),
                   "digest": ("box", DIGEST_FILL)}.get(node.kind, ("box", layer_fill))
    style = "filled,rounded" if node.kind in ("image", "container") else "filled"
    if node.kind == "container":
        style += ",dashed"
    extra = ", penwidth=2.5" if node.shared else ""
    if node.kind == "layer":  # a layer is a wide, flat slab: stacks look like stacks
        extra += ", width=2.6"
    return f'label="{_q(node.label)}", shape={shape}, fillcolor="{fill}", style="{style}"{extra}'


def image_graph(images: list[Image], containers: Sequence[tuple[str, Image]] = (),
                lang: str | None = None) -> LayerGraph:
    """Images stacked on their layers, base at the bottom; a layer shared by several images (the
    same ChainID: the same change on the same layers) is drawn once, and marked; a container's
    thin writable layer (R/W, 可写) sits on top of its image's read-only (R/O, 只读) layers."""
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
            nodes.setdefault(key, Node(key, _layer_label(diff_id, layer.size, step, users[str(chain)],
                                                         lang), "layer", users[str(chain)] > 1))
            if below is not None and (below, key, "solid") not in edges:
                edges.append((below, key, "solid"))
            below = key
        image_key = f"image:{image.digest.encoded[:16]}"
        names = "\n".join(n.familiar for n in image.names) or "<none>"
        nodes[image_key] = Node(image_key, f"{names}\n{text('image_id', lang, id=image.id.short)}", "image")
        if below is not None:
            edges.append((below, image_key, "solid"))
    for name, image in sorted(containers, key=lambda c: c[0]):
        key = f"container:{name}"
        label = f"{text('container', lang, name=name)}\n{text('writable_layer', lang)} · {text('writable', lang)}"
        nodes[key] = Node(key, label, "container")
        edges.append((f"image:{image.digest.encoded[:16]}", key, "dashed"))
    return LayerGraph(list(nodes.values()), edges, text("images_title", lang))


def _layer_label(diff_id: Any, size: int, step: Any, users: int, lang: str | None) -> str:
    """``a7184cc2b1a8 · 1.04MB · R/O`` / the command that made it / ``shared by 2 images``."""
    lines = [f"{diff_id.short} · {human_size(size)} · {text('read_only', lang)}"]
    made_by = _clip((step.created_by or "") if step else "", 30)
    if made_by:
        lines.append(made_by)
    if users > 1:
        lines.append(text("shared_by", lang, count=users))
    return "\n".join(lines)


def registry_graph(contents: list[tuple[str, list[str], list[tuple[str, int]]]],
                   lang: str | None = None) -> LayerGraph:
    """A registry (仓库服务器) and its repositories (仓库), drawn bottom-up: the blobs below, each
    repository above the blobs its images use; a blob held once but used by several repositories
    is drawn once and marked shared. ``contents`` is ``[(repository, tags, [(digest, size), …]), …]``."""
    users: Counter[str] = Counter()
    for _, _, blobs in contents:
        for digest in {d for d, _ in blobs}:
            users[digest] += 1
    nodes: dict[str, Node] = {}
    edges: list[tuple[str, str, str]] = []
    for repository, tags, blobs in sorted(contents):
        repo_key = f"repo:{repository}"
        nodes[repo_key] = Node(repo_key, f"{repository}\n{text('tags', lang, tags=', '.join(tags) or '-')}",
                               "repository")
        for digest, size in sorted(set(blobs)):
            key = f"blob:{digest.split(':')[-1][:16]}"
            shared = users[digest] > 1
            label = f"{text('blob', lang)} {digest.split(':')[-1][:12]} · {human_size(size)}" + \
                (f"\n{text('in_repositories', lang, count=users[digest])}" if shared else "")
            nodes.setdefault(key, Node(key, label, "blob", shared))
            edges.append((key, repo_key, "solid"))
    return LayerGraph(list(nodes.values()), edges, text("registry_title", lang))


def digest_graph(image: Image, lang: str | None = None) -> LayerGraph:
    """One image's five kinds of sha256, and what points at what: a name points at the manifest
    (its digest is what registries and ``NAME@sha256:`` use); the manifest lists the config (its
    digest is the IMAGE ID) and the compressed layer blobs (layer digests); the config lists each
    layer's uncompressed tar (diff_id); diff_ids chained give ChainIDs (what is shared on disk)."""
    nodes = [Node("name", text("name", lang, name=image.display_name), "image"),
             Node("manifest", text("manifest_digest", lang, digest=image.digest.short), "digest"),
             Node("config", text("config_digest", lang, digest=image.id.short), "digest")]
    edges = [("name", "manifest", "solid"), ("manifest", "config", "solid")]
    below = None
    for index, (layer, diff_id, chain) in enumerate(zip(image.layers, image.config.diff_ids,
                                                        image.config.chain_ids)):
        nodes += [Node(f"blob{index}", text("layer_digest", lang, digest=layer.digest.short,
                                            size=human_size(layer.size)), "blob"),
                  Node(f"diff{index}", text("diff_id", lang, digest=diff_id.short), "layer"),
                  Node(f"chain{index}", text("chain_id", lang, digest=chain.short), "layer")]
        edges += [("manifest", f"blob{index}", "solid"), ("config", f"diff{index}", "solid"),
                  (f"blob{index}", f"diff{index}", "dashed"), (f"diff{index}", f"chain{index}", "dashed")]
        if below is not None:
            edges.append((below, f"chain{index}", "dotted"))
        below = f"chain{index}"
    return LayerGraph(nodes, edges, text("digests_title", lang), direction="TB",
                      caption=f"{image.display_name}: {text('digests_title', lang)}")


def _clip(command: str, width: int) -> str:
    """The command that made a layer, cut at a word so no word is left half.

    >>> _clip("RUN /bin/sh -c rm /etc/group", 30), _clip("sh -c mkdir /www && echo hello > /www/index.html", 30)
    ('RUN rm /etc/group', 'sh -c mkdir /www && echo…')
    """
    command = " ".join(command.replace("/bin/sh -c #(nop) ", "").split())
    command = command.replace("RUN /bin/sh -c ", "RUN ")
    if command.startswith("/bin/sh -c "):
        command = "RUN " + command.removeprefix("/bin/sh -c ")
    if len(command) <= width:
        return command
    cut = command[:width - 1]
    if " " in cut[width // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip() + "…"


__all__ = ["LayerGraph", "Node", "digest_graph", "image_graph", "registry_graph"]
