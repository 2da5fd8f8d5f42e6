"""How supervisors are made: forked directly by a single-threaded caller, or by the fork server
for a threaded one (a Jupyter kernel, this test runner) — and what happens when it dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.runtime import Isolation, launch, start
from tests.runtime.helpers import spec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def threaded() -> Iterator[None]:
    """A second thread, as in every Jupyter kernel: the engine must not fork itself now."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    yield
    stop.set()
    thread.join()


def _parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no PPid for {pid}")


def _run_script(body: str) -> dict[str, object]:
    """Run ``body`` in a fresh, single-threaded interpreter; it prints one JSON object."""
    script = "import json, os, subprocess, sys, threading\n" + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=False, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_another_thread_means_not_single_threaded(threaded: None) -> None:
    assert not launch.single_threaded()


def test_a_single_threaded_caller_forks_the_supervisor_itself(rootfs: Path,
                                                              isolation: Isolation) -> None:
    got = _run_script(f"""
        from minidock_magic.runtime import launch, start
        from tests.runtime.helpers import spec
        alone = launch.single_threaded()
        p = start(spec({str(rootfs)!r}, "sh", "-c", "ls /proc/self/fd; exit 3"),
                  isolation={isolation.value!r}, stdout=subprocess.PIPE)
        parent = p._supervisor.pid
        own = [l for l in open(f"/proc/{{parent}}/status") if l.startswith("PPid:")]
        out = p.stdout.read().decode()
        print(json.dumps({{"alone": alone, "status": p.wait(), "out": out,
                          "supervisor_parent": int(own[0].split()[1]), "me": os.getpid(),
                          "server": launch._server is not None}}))
    """)
    assert got["alone"] is True
    assert got["supervisor_parent"] == got["me"]
    assert got["server"] is False  # no fork server was needed
    assert (got["status"], str(got["out"]).split()) == (3, ["0", "1", "2", "3"])


def test_a_single_threaded_callers_second_container_comes_from_the_fork_server(
        rootfs: Path, isolation: Isolation) -> None:
    # A process that starts a second container is long-lived: forking its (big) self for each
    # one would cost it and the child a copy-on-write fault on every page either writes.
    got = _run_script(f"""
        from minidock_magic.runtime import launch, start
        from tests.runtime.helpers import spec
        parents, alone = [], launch.single_threaded()
        for _ in range(3):  # running while its supervisor's parent is read
            p = start(spec({str(rootfs)!r}, "sleep", "30"), isolation={isolation.value!r})
            own = [l for l in open(f"/proc/{{p._supervisor.pid}}/status") if l.startswith("PPid:")]
            p.signal(9)
            parents.append((int(own[0].split()[1]), p.wait()))
        print(json.dumps({{"parents": parents, "me": os.getpid(),
                          "server": launch._server.process.pid, "alone": alone}}))
    """)
    me, server = got["me"], got["server"]
    assert got["alone"] is True
    assert got["parents"] == [[me, 137], [server, 137], [server, 137]]


def test_a_threaded_caller_gets_supervisors_from_the_fork_server(
        rootfs: Path, isolation: Isolation, threaded: None) -> None:
    process = start(spec(rootfs, "sleep", "30"), isolation=isolation)
    try:
        server = launch._server
        assert server is not None and server.alive()
        assert _parent_of(process._supervisor.pid) == server.process.pid
        assert server.process.pid != os.getpid()
    finally:
        process.signal(signal.SIGKILL)  # PID 1 has no default action for SIGTERM
        assert process.wait(timeout=10) == 128 + signal.SIGKILL
    assert server.alive()  # one server for every container of this engine


NAMESPACE_KINDS = ("net", "mnt", "pid", "uts", "ipc")


def test_every_container_of_the_fork_server_gets_namespaces_of_its_own(
        rootfs: Path, isolation: Isolation, threaded: None) -> None:
    # From the second container of a shape on, the server hands out a spare made in advance:
    # its namespaces must be as fresh as a forked supervisor's, never shared with another
    # container's (compared while all live: the kernel recycles a freed namespace's number).
    if isolation is Isolation.PROOT:
        pytest.skip("proot containers have no namespaces")
    running = [start(spec(rootfs, "sleep", "30"), isolation=isolation) for _ in range(4)]
    try:
        seen = [{kind: os.readlink(f"/proc/{p.pid}/ns/{kind}") for kind in NAMESPACE_KINDS}
                for p in running]
    finally:
        for process in running:
            process.signal(signal.SIGKILL)
            process.wait(timeout=10)
    own = {kind: os.readlink(f"/proc/self/ns/{kind}") for kind in NAMESPACE_KINDS}
    for kind in NAMESPACE_KINDS:
        ids = [namespaces[kind] for namespaces in seen]
        assert len(set(ids)) == len(running) and own[kind] not in ids, (kind, ids)


def test_a_killed_fork_server_is_replaced(rootfs: Path, isolation: Isolation,
                                          threaded: None) -> None:
    first = start(spec(rootfs, "true"), isolation=isolation)
    assert first.wait(timeout=10) == 0
    old = launch._server
    assert old is not None
    old.process.kill()
    old.process.wait()
    second = start(spec(rootfs, "sh", "-c", "exit 7"), isolation=isolation)
    assert second.wait(timeout=10) == 7
    assert launch._server is not None and launch._server.process.pid != old.process.pid


def test_a_container_outlives_its_dead_fork_server_and_reports_lost(
        rootfs: Path, isolation: Isolation, threaded: None) -> None:
    process = start(spec(rootfs, "sleep", "30"), isolation=isolation)
    server = launch._server
    assert server is not None
    server.process.kill()
    server.process.wait()
    try:
        assert process.poll() is None  # the container itself was not touched
        # Nobody can tell us its status any more: docker's "the engine failed".
        process.signal(signal.SIGKILL)
        assert process.wait(timeout=10) == launch.LOST
    finally:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_the_fork_server_exits_with_its_engine(rootfs: Path, isolation: Isolation) -> None:
    got = _run_script(f"""
        from minidock_magic.runtime import launch, start
        from tests.runtime.helpers import spec
        stop = threading.Event(); t = threading.Thread(target=stop.wait); t.start()
        for _ in range(2):  # the second leaves a spare behind (supervisor and PID 1)
            assert start(spec({str(rootfs)!r}, "true"), isolation={isolation.value!r}).wait() == 0
        stop.set(); t.join()
        server = launch._server.process.pid
        children = []
        for p in filter(str.isdigit, os.listdir("/proc")):
            try:  # processes come and go meanwhile
                if open(f"/proc/{{p}}/stat").read().rsplit(")", 1)[1].split()[1] == str(server):
                    children.append(int(p))
            except OSError:
                pass
        print(json.dumps({{"server": server, "children": children}}))
    """)
    server = int(got["server"])  # type: ignore[call-overload]
    left = [server, *got["children"]]  # type: ignore[misc]
    if isolation is not Isolation.PROOT:  # proot has no namespaces to prepare: no spare
        assert len(left) > 1  # the spare's supervisor
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in left) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in left if Path(f"/proc/{pid}").exists()]


def test_a_spare_waits_through_requests_it_cannot_serve() -> None:
    from minidock_magic.runtime._forkserver import Spares

    class Stub:
        def __init__(self, shape: dict[str, str]) -> None:
            self.shape, self.closed = shape, False

        def close(self) -> None:
            self.closed = True

    none = {"isolation": "namespaces", "network": "none"}
    spares = Spares()
    spare = spares.spare = Stub(none)  # type: ignore[assignment]
    assert spares.take(None) is None and spares.spare is spare  # exec, limits: kept
    assert spares.take(dict(none)) is spare and spares.spare is None  # same shape: used
    spare = spares.spare = Stub(none)  # type: ignore[assignment]
    assert spares.take({"isolation": "namespaces", "network": "host"}) is None
    assert spare.closed and spares.spare is None  # another shape: dropped (refilled after)


def test_a_spares_loopback_is_up(rootfs: Path, isolation: Isolation, threaded: None) -> None:
    # A spare brings its own network namespace's lo up before it is asked for; every container
    # of the server (the first forked, the next ones spares) must find it up all the same.
    if isolation is Isolation.PROOT:
        pytest.skip("proot containers share the host's network")
    from tests.runtime.helpers import capture
    for _ in range(3):
        result = capture(spec(rootfs, "ip", "link", "show", "lo"), isolation)
        assert result.status == 0, result.err
        assert ",UP" in result.out, result.out


def test_every_container_starts_with_no_signal_ignored(rootfs: Path, isolation: Isolation,
                                                       threaded: None) -> None:
    # Python ignores SIGPIPE and SIGXFSZ, and ignored dispositions survive execve: PID 1 resets
    # them, forked or a spare (whose supervisor set up its own handlers first).
    from tests.runtime.helpers import capture
    for _ in range(3):
        result = capture(spec(rootfs, "grep", "SigIgn", "/proc/self/status"), isolation)
        assert result.status == 0, result.err
        assert result.out.split() == ["SigIgn:", "0" * 16], result.out


def test_a_signal_the_caller_ignores_is_not_ignored_in_the_container(rootfs: Path,
                                                                     isolation: Isolation) -> None:
    # Ignored dispositions survive fork and execve, and a shell started with a signal ignored
    # may not trap it again: whatever the engine's caller ignores (a job started with `&`
    # ignores SIGINT and SIGQUIT) must not reach the container, under proot as elsewhere.
    got = _run_script(f"""
        import signal
        from minidock_magic.runtime import start
        from tests.runtime.helpers import spec
        signal.signal(signal.SIGQUIT, signal.SIG_IGN)
        p = start(spec({str(rootfs)!r}, "grep", "SigIgn", "/proc/self/status"),
                  isolation={isolation.value!r}, stdout=subprocess.PIPE)
        print(json.dumps({{"out": p.stdout.read().decode(), "status": p.wait()}}))
    """)
    assert (got["status"], str(got["out"]).split()) == (0, ["SigIgn:", "0" * 16])
