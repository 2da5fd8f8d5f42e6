"""``class REGISTRY``: what each student pushed, read over the registry API, from ours and from
CNCF distribution (``docker-registry``) alike."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from minidock_magic.commands import Streams, build_parser
from minidock_magic.facade import Minidock
from minidock_magic.magics import run_command
from minidock_magic.registry import RegistryServer
from minidock_magic.remotes.classroom import ClassReport

from .conftest import DockerRegistry

pytestmark = pytest.mark.integration


def student_image(engine: Minidock, context: Path, text: str, name: str) -> None:
    """busybox plus one file: what lesson 6 has a student build."""
    context.mkdir(parents=True)
    (context / "hello.txt").write_text(text)
    engine.build(context, "FROM busybox\nCOPY hello.txt /hello.txt\n", tags=[name], out=io.StringIO())


def push_class(engine: Minidock, tmp_path: Path, address: str, students: list[str]) -> None:
    for name in students:
        student_image(engine, tmp_path / f"ctx-{name}", f"hello from {name}\n", f"{address}/{name}/hello:1")
        engine.push(f"{address}/{name}/hello:1", quiet=True)
    engine.tag("busybox", f"{address}/{students[0]}/busybox:latest")
    engine.push(f"{address}/{students[0]}/busybox:latest", quiet=True)


def check_report(report: ClassReport, students: list[str]) -> None:
    rows = {(r.repository, r.tag): r for r in report.rows}
    for name in students:
        row = rows[(f"{name}/hello", "1")]
        assert row.student == name and len(row.layers) == 2 and row.shared_with_base == 1
        assert row.own_bytes == row.layers[1].size
    busybox = rows[(f"{students[0]}/busybox", "latest")]
    assert busybox.shared_with_base == len(busybox.layers) == 1 and busybox.own_bytes == 0
    text = str(report)
    assert "SHARED WITH BASE" in text and f"{students[1]}/hello" in text
    graph = report.graph()
    base_layer = str(busybox.layers[0].digest).split(":")[1][:16]
    shared = {n.id for n in graph.nodes if n.kind == "blob" and n.shared}
    assert f"blob:{base_layer}" in shared  # busybox's layer: one blob, every student's repository


@pytest.fixture
def engine(tmp_path: Path) -> Minidock:
    return Minidock(tmp_path / "teacher")


def class_command(engine: Minidock, *argv: str) -> object:
    """The handler's result, as the CLI and %dock get it (they only choose how to show it)."""
    args = build_parser().parse_args(["class", *argv])
    return args.handler(engine, args, Streams())


def test_class_on_our_registry(engine: Minidock, tmp_path: Path) -> None:
    students = ["ann", "ben", "cai"]
    with RegistryServer(tmp_path / "registry") as server:
        push_class(engine, tmp_path, server.address, students)
        report = class_command(engine, server.address)
        assert isinstance(report, ClassReport)
        check_report(report, students)
        assert report.students() == students
        assert str(class_command(engine, "--dot", server.address)).startswith("digraph")
        shown = run_command(engine, ["class", server.address])   # %dock: the table, then the graph
        assert "3 students, 4 repositories, 4 tags" in repr(shown)
        assert "<svg" in shown._repr_html_() and "SHARED WITH BASE" in shown._repr_html_()


def test_class_on_distribution(engine: Minidock, tmp_path: Path, registry: DockerRegistry) -> None:
    prefix = uuid.uuid4().hex[:6]   # the session's registry holds other tests' repositories too
    students = [f"{prefix}-dee", f"{prefix}-eve"]
    push_class(engine, tmp_path, registry.address, students)
    report = class_command(engine, registry.address)
    assert isinstance(report, ClassReport)
    check_report(report, students)
