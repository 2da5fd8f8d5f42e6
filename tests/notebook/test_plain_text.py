"""What a result looks like as text: in a terminal IPython, in a notebook's text/plain (what nbval
compares) and from ``repr()`` at a plain Python prompt — the docker-like text ``minidock`` prints,
never the dataclass fields (``ImageList(rows=[ImageRow(…``)."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import pytest
from IPython.core.formatters import PlainTextFormatter

import minidock_magic
from minidock_magic.containers.record import ContainerConfig, ContainerState
from minidock_magic.containers.results import ContainerList, ContainerRow, Diff, Top
from minidock_magic.diagrams import LayerGraph, Node, registry_graph
from minidock_magic.diff.changes import Change, ChangeKind
from minidock_magic.lessons.checker import DONE, TODO, CheckReport, CheckResult
from minidock_magic.oci.digest import Digest
from minidock_magic.results import CheckReport as StoreCheck
from minidock_magic.results import DiskUsage, History, HistoryRow, ImageList, ImageRow, PruneReport, Result

ID = Digest.of(b"config")
LAYER = Digest.of(b"layer")


def plain(obj: object) -> str:
    """The text/plain IPython's display formatter gives ``obj`` (a notebook, a terminal, nbval)."""
    return PlainTextFormatter()(obj)


def images() -> ImageList:
    return ImageList([ImageRow("busybox", "latest", ID, ID, "1970-01-01T00:00:00Z", 1_040_000, 0,
                               1_040_000)])


def container_list() -> ContainerList:
    config = ContainerConfig(id="ab" * 32, name="web", image="busybox", image_id=str(ID),
                             image_target={}, snapshot="s", parent_snapshot=None,
                             argv=["sleep", "600"], env=[])
    return ContainerList([ContainerRow(config, ContainerState())])


def lines(*rows: str) -> str:
    return "\n".join(rows)


TEXTS = {
    "images": (images(), lines(
        "REPOSITORY   TAG      IMAGE ID       CREATED   SIZE     SHARED SIZE   UNIQUE SIZE",
        f"busybox      latest   {ID.short}   N/A       1.04MB   0B            1.04MB")),
    "history": (History([HistoryRow(ID.short, None, "COPY a /", 12, "", LAYER)]), lines(
        "IMAGE          CREATED   CREATED BY   SIZE   COMMENT",
        f"{ID.short}   N/A       COPY a /     12B")),
    "ps": (container_list(), lines(
        "CONTAINER ID   IMAGE     COMMAND       CREATED   STATUS    PORTS   NAMES",
        'abababababab   busybox   "sleep 600"   N/A       Created           web')),
    "diff": (Diff([Change(ChangeKind.ADDED, "/diary.txt"), Change(ChangeKind.CHANGED, "/etc"),
                   Change(ChangeKind.DELETED, "/etc/group")]),
             lines("A /diary.txt", "C /etc", "D /etc/group")),
    "top": (Top([["0", "4242", "4241", "sleep 600"]]), lines(
        "UID   PID    PPID   CMD",
        "0     4242   4241   sleep 600")),
    "system df": (DiskUsage(images=2, blobs=5, total=2_000, shared=1_000, unique=900, unused=100), lines(
        "TYPE     TOTAL   SIZE   SHARED   UNIQUE   RECLAIMABLE",
        "Images   2       2kB    1kB      900B     100B")),
    "system check": (StoreCheck(blobs=9, corrupt=[LAYER]), lines(
        "checked 9 blobs",
        f"corrupt: {LAYER} (content no longer matches its digest)",
        "PROBLEMS FOUND")),
    "system prune": (PruneReport(deleted=[LAYER], untagged=["me/app:1"], freed=1_500), lines(
        "untagged: me/app:1",
        f"deleted: {LAYER}",
        "Total reclaimed space: 1.5kB")),
    "check 4.1": (CheckResult("4.1", DONE, "Notes", "it is there"), "✔ 4.1 Done — it is there"),
    "check 4": (CheckReport((CheckResult("4.1", DONE, "", "yes"), CheckResult("4.2", TODO, "", "no"))),
                lines("✔ 4.1 Done — yes", "○ 4.2 Not yet — no")),
}


@pytest.mark.parametrize("command", list(TEXTS))
def test_text_plain_is_what_the_cli_prints(command):
    result, text = TEXTS[command]
    assert plain(result) == text
    assert repr(result) == text == str(result)  # a plain Python prompt shows the same
    assert f"{type(result).__name__}(" not in text  # not `ImageList(rows=[ImageRow(…`


@pytest.mark.parametrize("empty", [Diff([]), CheckReport(())])
def test_an_empty_result_says_so(empty):
    """``docker diff`` prints nothing for an unchanged container; an empty text/plain would look
    like a cell that showed nothing at all."""
    assert str(empty) == ""
    assert plain(empty) == repr(empty) == f"<{type(empty).__name__}: empty>"


def test_an_empty_table_keeps_its_headers():
    assert plain(ContainerList([])) == "CONTAINER ID   IMAGE   COMMAND   CREATED   STATUS   PORTS   NAMES"


def test_a_graph_is_a_picture_with_a_one_line_summary():
    nodes = [Node("image:a", "a", "image"), Node("image:b", "b", "image"),
             Node("layer:1", "l1", "layer", shared=True), Node("layer:2", "l2", "layer"),
             Node("container:c", "c", "container")]
    graph = LayerGraph(nodes, [("image:a", "layer:1", "solid")], "title")
    assert plain(graph) == repr(graph) == "<LayerGraph: 2 images, 2 layers (1 shared), 1 container>"
    assert str(graph) == graph.to_dot() and str(graph).startswith("digraph layers {")
    registry = registry_graph([("me/a", ["1"], [(str(LAYER), 10), (str(ID), 5)]),
                               ("me/b", [], [(str(LAYER), 10)])])
    assert plain(registry) == "<LayerGraph: 2 repositories, 2 blobs (1 shared)>"
    assert plain(LayerGraph()) == "<LayerGraph: empty>"


def test_results_nested_in_a_list_stay_readable():
    text = plain([Diff([Change(ChangeKind.ADDED, "/a")])])
    assert text == "[A /a]"


def result_classes() -> list[type]:
    """Every subclass of ``Result`` anywhere in the package (so a new one is checked too)."""
    for module in pkgutil.walk_packages(minidock_magic.__path__, "minidock_magic."):
        importlib.import_module(module.name)
    found, todo = [], [Result]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_result_dataclass_keeps_the_text_repr():
    """A result made a dataclass without ``repr=False`` gets a generated ``__repr__`` that
    IPython prefers to the base's ``_repr_pretty_``: the table would turn back into fields."""
    dataclasses_found = [cls for cls in result_classes() if dataclasses.is_dataclass(cls)]
    assert {ImageList, ContainerList, Diff, LayerGraph, CheckResult} <= set(dataclasses_found)
    generated = [cls.__qualname__ for cls in dataclasses_found if cls.__dataclass_params__.repr]
    assert generated == []


def test_an_image_repr_names_it_instead_of_dumping_its_manifest(busybox_engine):
    image = busybox_engine.image("busybox")
    assert repr(image) == plain(image) == f"<Image: 'busybox:latest' {image.id.short}>"


def test_magic_results_through_a_real_shell(ip, busybox_engine):
    """What a notebook saves as text/plain for real ``%dock`` results."""
    busybox_engine.containers.create("busybox", _options())
    formatter = ip.display_formatter
    for line in ("images", "history busybox", "ps -a", "system df", "system check"):
        result = ip.run_line_magic("dock", line)
        bundle, _ = formatter.format(result)
        assert bundle["text/plain"] == str(result), line
        assert "rows=" not in bundle["text/plain"] and "text/html" in bundle, line
    graph = ip.run_line_magic("dock", "graph")
    bundle, _ = formatter.format(graph)
    assert bundle["text/plain"] == "<LayerGraph: 1 image, 1 layer, 1 container>"
    assert "image/svg+xml" in bundle


def _options():
    from minidock_magic.containers.options import RunOptions
    return RunOptions(command=["true"], name="quiet")
