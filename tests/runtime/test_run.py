"""Running busybox under each isolation backend this host supports (real namespaces, real proot)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from minidock_magic.errors import InvalidArgument, NotFound, Unavailable
from minidock_magic.runtime import Isolation, probe_host, run, start
from tests.runtime.helpers import Result, capture, spec

pytestmark = pytest.mark.integration


def test_echo(rootfs: Path, isolation: Isolation) -> None:
    result = capture(spec(rootfs, "echo", "hi"), isolation)
    assert (result.status, result.out) == (0, "hi\n")


def test_exit_code_propagates(rootfs: Path, isolation: Isolation) -> None:
    assert capture(spec(rootfs, "sh", "-c", "exit 3"), isolation).status == 3


def test_signals_reach_the_program(rootfs: Path, isolation: Isolation) -> None:
    script = 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done'
    process = start(spec(rootfs, "sh", "-c", script), isolation=isolation, stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    process.signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 7


def test_missing_command_is_127(rootfs: Path, isolation: Isolation) -> None:
    result = capture(spec(rootfs, "no-such-command"), isolation)
    assert result.status == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in result.err


def test_not_executable_is_126(rootfs: Path, isolation: Isolation) -> None:
    result = capture(spec(rootfs, "/etc/passwd"), isolation)
    assert result.status == 126
    assert "permission denied" in result.err


def test_host_is_not_visible(rootfs: Path, isolation: Isolation) -> None:
    sentinel = Path("/tmp") / f"minidock-sentinel-{uuid.uuid4().hex}"
    sentinel.write_text("host secret")
    try:
        result = capture(spec(rootfs, "sh", "-c", f"ls /; cat {sentinel}"), isolation)
    finally:
        sentinel.unlink()
    assert result.status != 0 and "host secret" not in result.out
    assert set(result.out.split()) <= {"bin", "dev", "etc", "proc", "sys", "tmp"}


def test_env_and_working_dir(rootfs: Path, isolation: Isolation) -> None:
    process_spec = spec(rootfs, "sh", "-c", 'echo "$GREETING|$HOME|$(pwd)"', cwd="/work/sub",
                        env=["PATH=/bin", "GREETING=hello world"])
    result = capture(process_spec, isolation)
    assert result.out == "hello world|/root|/work/sub\n"
    assert (rootfs / "work" / "sub").is_dir()  # created, like docker's WORKDIR


def test_etc_hosts_and_resolv_conf(rootfs: Path, isolation: Isolation) -> None:
    process_spec = spec(rootfs, "cat", "/etc/hosts", "/etc/resolv.conf", hostname="box",
                        extra_hosts=[("db", "10.1.2.3")])
    out = capture(process_spec, isolation).out
    assert "127.0.0.1\tlocalhost" in out and "127.0.1.1\tbox" in out and "10.1.2.3\tdb" in out
    assert "nameserver" in out
    if isolation is not Isolation.PROOT:  # bind-mounted, so the image's files stay as they were
        assert not (rootfs / "etc" / "hosts").read_text()


def test_user_by_number_and_name(rootfs: Path, isolation: Isolation) -> None:
    if isolation is Isolation.ROOTLESS and os.geteuid() == 0:
        pytest.skip("root has no /etc/subuid range here; test_rootless_user covers this")
    if isolation is Isolation.ROOTLESS and not probe_host().subordinate_ids:
        pytest.skip("this user has no /etc/subuid range: only uid 0 exists in its containers "
                    "(test_rootless_user covers the message that says so)")
    assert capture(spec(rootfs, "id", "-u", user="65534"), isolation).out == "65534\n"
    assert capture(spec(rootfs, "id", "-un", user="nobody"), isolation).out == "nobody\n"
    assert capture(spec(rootfs, "id", "-g", user="1234:65534"), isolation).out == "65534\n"


def test_unknown_user_is_one_clear_error(rootfs: Path, isolation: Isolation) -> None:
    with pytest.raises(InvalidArgument, match="unable to find user ghost"):
        capture(spec(rootfs, "id", user="ghost"), isolation)


def test_missing_rootfs_is_not_found(tmp_path: Path, isolation: Isolation) -> None:
    with pytest.raises(NotFound, match="rootfs"):
        capture(spec(tmp_path / "nope", "true"), isolation)


def test_no_engine_fd_leaks_into_the_container(rootfs: Path, isolation: Isolation) -> None:
    extra = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
    for fd in extra:
        os.set_inheritable(fd, True)  # even fds the caller marked inheritable
    stop = threading.Event()
    busy = [threading.Thread(target=stop.wait) for _ in range(4)]
    for t in busy:
        t.start()
    try:
        result = capture(spec(rootfs, "ls", "/proc/self/fd"), isolation)
    finally:
        stop.set()
        for fd in extra:
            os.close(fd)
    # 0, 1, 2 and the directory ls itself is reading
    assert result.out.split() == ["0", "1", "2", "3"], result


def test_many_threads_run_containers_at_once(rootfs: Path, isolation: Isolation) -> None:
    results: dict[int, object] = {}

    def one(i: int) -> None:
        try:
            results[i] = capture(spec(rootfs, "sh", "-c", f"echo {i}; exit {i}"), isolation)
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = {i: (r.status, r.out) if isinstance(r, Result) else r for i, r in results.items()}
    assert got == {i: (i, f"{i}\n") for i in range(8)}


def test_stdin_passes_through(rootfs: Path, isolation: Isolation, tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.write_text("from the caller\n")
    with open(data, "rb") as stdin:
        result = capture(spec(rootfs, "cat", stdin=True), isolation, stdin=stdin)
    assert result.out == "from the caller\n"
    assert capture(spec(rootfs, "cat"), isolation).out == ""  # default: /dev/null


def test_start_signal_and_stop(rootfs: Path, isolation: Isolation) -> None:
    process = start(spec(rootfs, "sleep", "60"), isolation=isolation)
    assert process.poll() is None
    began = time.monotonic()
    # Without a handler PID 1 ignores SIGTERM, as in docker; stop() then kills it.
    status = process.stop(timeout=1.0)
    assert status in (137, 143) and time.monotonic() - began < 10
    assert process.poll() == status
    process.signal(signal.SIGTERM)  # after exit: nothing, no error


def test_wait_timeout(rootfs: Path, isolation: Isolation) -> None:
    process = start(spec(rootfs, "sleep", "60"), isolation=isolation, stdout=subprocess.DEVNULL)
    with pytest.raises(TimeoutError):
        process.wait(timeout=0.2)
    process.signal(signal.SIGKILL)
    assert process.wait() == 137


def test_pipe_output(rootfs: Path, isolation: Isolation) -> None:
    process = start(spec(rootfs, "echo", "piped"), isolation=isolation, stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.read() == b"piped\n"
    assert process.wait() == 0


def test_namespaces_refused_without_root(rootfs: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("as root, namespaces are allowed (test_rootless_user checks the refusal)")
    with pytest.raises(Unavailable, match="needs root"):
        capture(spec(rootfs, "true"), Isolation.NAMESPACES)


def test_tty_shares_the_callers_session(rootfs: Path, isolation: Isolation) -> None:
    result = capture(spec(rootfs, "sh", "-c", "echo $TERM", tty=True), isolation)
    assert (result.status, result.out) == (0, "xterm\n")


def test_output_into_text_streams_without_fds(rootfs: Path, isolation: Isolation) -> None:
    out, err = io.StringIO(), io.StringIO()  # like a notebook's sys.stdout
    status = run(spec(rootfs, "sh", "-c", "printf 'caf\\303\\251\\n'; echo oops >&2"),
                 isolation=isolation, stdout=out, stderr=err)
    assert (status, out.getvalue(), err.getvalue()) == (0, "café\n", "oops\n")


def test_a_signal_from_another_process_gives_128_plus_it(rootfs: Path, isolation: Isolation) -> None:
    """`docker kill` from another process (a CLI while a shim owns the container): the status is
    the program's, 137, on every backend (proot alone would say 255)."""
    process = start(spec(rootfs, "sleep", "60"), isolation=isolation)
    os.kill(process.pid, signal.SIGKILL)  # not process.signal(): nothing in this object knows
    assert process.wait(timeout=10) == 137


@pytest.fixture
def proot() -> Isolation:
    if not probe_host().supports(Isolation.PROOT):
        pytest.skip("this host cannot run proot: " + "; ".join(probe_host().describe()))
    return Isolation.PROOT


@pytest.mark.parametrize("script, status", [
    ("kill -9 $$", 137),
    ("kill -15 $$", 143),
    ("sleep 0.3 & kill -9 $$", 137),  # a child exits normally after it: still the program's
    ("exit 255", 255),
    ("sleep 0.3 & exit 4", 4),
])
def test_under_proot_a_program_killed_by_any_signal_reports_128_plus_it(
        rootfs: Path, proot: Isolation, script: str, status: int) -> None:
    """Under proot the program is not PID 1, so it can be killed by a signal nobody in the
    engine sent: its status is docker's 128+signal, not proot's 255 (or a child's 0)."""
    result = capture(spec(rootfs, "sh", "-c", script), proot)
    assert result.status == status, result.err
    assert result.err == ""  # the waiter's shell says nothing ("Killed") of its own


def test_under_proot_sigterm_from_another_process_gives_143(rootfs: Path, proot: Isolation) -> None:
    process = start(spec(rootfs, "sleep", "60"), isolation=proot)
    os.kill(process.pid, signal.SIGTERM)  # not PID 1: the default action ends it
    assert process.wait(timeout=10) == 143


def test_under_proot_signals_reach_the_program_not_its_waiter(rootfs: Path, proot: Isolation) -> None:
    script = 'trap "exit 7" TERM; echo "$$"; while :; do sleep 0.1; done'
    process = start(spec(rootfs, "sh", "-c", script), isolation=proot, stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert int(process.stdout.readline()) == process.pid
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=10) == 7
