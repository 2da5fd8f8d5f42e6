"""stdin, stdout and stderr: a container gets pipes the engine pumps, never the caller's own
descriptors, which it could reopen through /proc/self/fd/N."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from minidock_magic.runtime import ProcessSpec, run
from tests.runtime.helpers import make_busybox_rootfs
from tests.security.conftest import BoxFactory, cli, report

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_run_stdin_cannot_rewrite_the_callers_file(busybox_engine, tmp_path: Path) -> None:
    source = tmp_path / "input.txt"
    source.write_text("precious\n")
    with source.open("rb") as stdin:
        done = cli(busybox_engine, "run", "--rm", "-i", "busybox", "sh", "-c",
                   "cat; echo X > /proc/self/fd/0", stdin=stdin)
    report("run -i … 'echo X > /proc/self/fd/0' < file",
           f"exit {done.returncode}, file now {source.read_text()!r}")
    assert done.stdout == b"precious\n"
    assert source.read_text() == "precious\n"


def test_stdout_cannot_reopen_the_callers_file(tmp_path: Path) -> None:
    # The runtime's API with a real file as stdout and stderr (the CLI pumps through a Tee).
    target = tmp_path / "output.txt"
    target.write_text("precious\n")
    rootfs = make_busybox_rootfs(tmp_path / "rootfs")
    with target.open("ab") as stdout:  # `>> output.txt`: the container may only append
        status = run(ProcessSpec(rootfs, ["sh", "-c", "echo X > /proc/self/fd/1; "
                                          "echo Y > /proc/self/fd/2"], ["PATH=/bin"]),
                     stdout=stdout, stderr=stdout)
    report("'echo X > /proc/self/fd/1' with stdout and stderr appending to a host file",
           f"exit {status}, file now {target.read_text()!r}")
    assert target.read_text().startswith("precious\n")
    assert sorted(target.read_text().split()) == ["X", "Y", "precious"]


def test_the_containers_stdio_are_pipes(busybox_engine, tmp_path: Path) -> None:
    source = tmp_path / "input.txt"
    source.write_text("")
    with source.open("rb") as stdin, (tmp_path / "out").open("wb") as out:
        cli(busybox_engine, "run", "--rm", "-i", "busybox", "sh", "-c",
            "for n in 0 1 2; do readlink /proc/self/fd/$n; done", stdin=stdin, stdout=out)
    links = (tmp_path / "out").read_text().split()
    report("what fds 0-2 of a container are", " ".join(links))
    assert len(links) == 3 and all(link.startswith("pipe:") for link in links)


def test_exec_stdin_cannot_rewrite_the_callers_file(make_box: BoxFactory, tmp_path: Path) -> None:
    box = make_box()
    source = tmp_path / "input.txt"
    source.write_text("precious\n")
    with source.open("rb") as stdin:
        done = cli(box.engine, "exec", "-i", box.name, "sh", "-c", "echo X > /proc/self/fd/0",
                   stdin=stdin)
    report("exec -i … 'echo X > /proc/self/fd/0' < file",
           f"exit {done.returncode}, file now {source.read_text()!r}")
    assert source.read_text() == "precious\n"


def test_a_detached_container_cannot_truncate_its_log(make_box: BoxFactory) -> None:
    box = make_box("sh", "-c", "echo first; echo second > /proc/self/fd/1")
    for _ in range(200):
        if box.engine.containers.inspect(box.name)["State"]["Status"] == "exited":
            break
        time.sleep(0.05)
    log = b"".join(box.engine.containers.logs(box.name)).decode()
    report("a detached container reopening its stdout (the log) with O_TRUNC", repr(log))
    assert log.split() == ["first", "second"]
