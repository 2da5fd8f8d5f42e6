"""Isolation: what a container must not see, whatever its image or working dir asks for.

Host processes, host files (a sentinel in the host's /tmp), the engine's store (its home dir),
other containers' writable layers, the engine's open file descriptors — and two tricks: a
working directory under ``/proc/self/fd`` (runc's CVE-2024-21626 shape: an fd the runtime left
open onto a host directory becomes the process's cwd), and an image whose mount targets
(``/etc/hosts``, ``/etc/resolv.conf``, ``/proc``, ``/dev``) are symlinks out of the rootfs.
Containers run through ``engine.containers.run`` with the engine's default isolation; tricky
images are made with ``import`` (a rootfs directory) and ``commit``.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.containers.options import RunOptions
from minidock_magic.errors import MinidockError
from minidock_magic.facade import Minidock
from tests.reliability.conftest import Tally, copy_home

TALLY = Tally("isolation")
TOKEN = f"minidock-isolation-{os.getpid()}-{os.urandom(4).hex()}"
SECRET = f"HOST-SECRET-{os.urandom(8).hex()}"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(busybox_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Minidock:
    return copy_home(busybox_home, tmp_path_factory.mktemp("isolation") / "home")


@pytest.fixture(scope="module")
def host_sentinel() -> Iterator[Path]:
    """A file in the host's /tmp that no container may read, list or change."""
    path = Path("/tmp") / TOKEN
    path.write_text(SECRET + "\n")
    yield path
    assert path.read_text() == SECRET + "\n", "a container changed a host file"
    path.unlink()


def run(engine: Minidock, script: str, image: str = "busybox", **options: object) -> tuple[int, str]:
    out = io.BytesIO()
    _, code = engine.containers.run(image, RunOptions(command=["sh", "-c", script], auto_remove=True,
                                                      **options),  # type: ignore[arg-type]
                                    stdout=out, stderr=out)
    return code, out.getvalue().decode(errors="replace")


def seen(out: str) -> str:
    """The output without the shell's complaints, which repeat the names it could not open."""
    return "\n".join(line for line in out.splitlines()
                     if "No such file" not in line and "can't open" not in line and "can't cd" not in line)


def test_host_processes_are_invisible(engine: Minidock) -> None:
    with TALLY.case("host processes"):
        code, out = run(engine, "ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo;"
                                f" kill -0 {os.getpid()} 2>/dev/null && echo KILL''ABLE; ps -o pid,args")
        assert code == 0, out
        pids = out.splitlines()[0].split()
        assert pids and all(int(p) < 20 for p in pids), f"host pids visible: {pids}"
        assert str(os.getpid()) not in pids and "KILLABLE" not in out
        assert "pytest" not in out and "python" not in out, out  # not even the engine's own helper


def test_host_files_are_invisible(engine: Minidock, host_sentinel: Path) -> None:
    with TALLY.case("host files"):
        code, out = run(engine, f"cat /tmp/{TOKEN}; ls -a /tmp /; find / -xdev -name '*{TOKEN}*';"
                                f" echo changed > /tmp/{TOKEN}; cat /etc/hostname /etc/passwd")
        assert code == 0, out
        assert SECRET not in out and TOKEN not in seen(out), out
        assert host_sentinel.read_text() == SECRET + "\n"


def test_the_engine_store_is_invisible(engine: Minidock) -> None:
    with TALLY.case("the engine's store"):
        home = str(engine.home)
        code, out = run(engine, f"ls {home} {home}/oci; cat {home}/oci/index.json;"
                                " find / -xdev \\( -name index.json -o -name metadata.db -o -name oci-layout \\)"
                                " -print; mount | grep -v -E '^(proc|tmpfs|devpts|shm|mqueue|sysfs)' ; echo END")
        assert code == 0, out
        assert "oci-layout" not in out and "metadata.db" not in out and "imageLayoutVersion" not in out, out
        assert "index.json\n" not in out and "mediaType" not in out, out
        # the overlay's lower/upper dirs are host paths: a container may see that it is an
        # overlay, but the home must not be reachable through any path it can open
        code, out = run(engine, f"cd {home} && echo REACHED")
        assert "REACHED" not in out


def test_other_containers_writable_layers_are_invisible(engine: Minidock) -> None:
    with TALLY.case("other containers' writable layers"):
        made = io.BytesIO()
        writer, code = engine.containers.run(
            "busybox", RunOptions(command=["sh", "-c", f"echo {SECRET} > /written-{TOKEN}"]), stdout=made, stderr=made)
        assert code == 0, made.getvalue()
        try:
            upper = engine.snapshotter.layer_dirs(writer.snapshot)[0]
            assert (upper / f"written-{TOKEN}").exists()  # it is there, on the host, in its layer
            code, out = run(engine, f"cat /written-{TOKEN}; find / -xdev -name 'written-*'; ls {upper} {upper.parent};"
                                    f" grep -r {SECRET[:-1]} /etc /tmp /root /home 2>/dev/null; echo END")
            assert code == 0 and out.rstrip().endswith("END"), out
            assert SECRET not in out and TOKEN not in seen(out) and "fs" not in seen(out).split(), out
        finally:
            engine.containers.remove(writer.id, force=True)


def test_engine_file_descriptors_do_not_leak(engine: Minidock, tmp_path: Path) -> None:
    with TALLY.case("the engine's file descriptors"):
        sentinel = tmp_path / f"fd-sentinel-{TOKEN}"
        sentinel.write_text(SECRET)
        files = [os.open(sentinel, os.O_RDONLY), os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY),
                 os.open("/", os.O_RDONLY | os.O_DIRECTORY)]
        for fd in files:
            os.set_inheritable(fd, True)  # even fds the engine forgot to mark close-on-exec
        try:
            # (fds 0-2 are the output pipes: reading those would wait forever)
            code, out = run(engine, "ls -l /proc/self/fd/ /proc/1/fd/; for f in /proc/1/fd/*; do case $f in "
                                    "*/[012]) ;; *) timeout 1 cat $f 2>/dev/null; ls $f/ 2>/dev/null;; esac;"
                                    " done; echo END")
            assert code == 0 and "END" in out, out
            assert SECRET not in out and TOKEN not in out and str(tmp_path) not in out, out
            fds = [line.split()[-3] for line in out.splitlines() if " -> " in line]
            assert all(int(fd) <= 3 for fd in fds if fd.isdigit()), f"extra fds in the container: {out}"
        finally:
            for fd in files:
                os.close(fd)


@pytest.mark.parametrize("fd", range(3, 11))
def test_proc_self_fd_working_dir_stays_inside(engine: Minidock, host_sentinel: Path, fd: int) -> None:
    """CVE-2024-21626's shape: the working dir names an fd the runtime might still hold onto a
    host directory. Either the container is refused, or its cwd is inside its own root."""
    with TALLY.case(f"workdir /proc/self/fd/{fd}"):
        try:
            _code, out = run(engine, f"pwd; pwd -P; ls -a; ls ../../../../tmp; cat ../../../../tmp/{TOKEN};"
                                    f" cat /proc/self/cwd/../../../../tmp/{TOKEN}; echo END",
                            workdir=f"/proc/self/fd/{fd}")
        except MinidockError as error:  # refused before it ran: fine, if said in one line
            assert "\n" not in str(error)
            return
        assert SECRET not in out, f"escaped through /proc/self/fd/{fd}: {out}"
        assert TOKEN not in seen(out), out


@pytest.fixture(scope="module")
def symlinked_mounts_image(engine: Minidock, tmp_path_factory: pytest.TempPathFactory) -> str:
    """busybox whose /etc/hosts, /etc/resolv.conf, /etc/hostname, /proc and /dev are symlinks
    pointing out of the rootfs (relative and absolute), imported from a directory."""
    root = tmp_path_factory.mktemp("symlinked") / "rootfs"
    engine.unpack("busybox", root)
    up = "../" * 12
    for name, target in [("etc/hosts", f"{up}tmp/{TOKEN}"), ("etc/resolv.conf", f"/tmp/{TOKEN}"),
                         ("etc/hostname", f"/../../tmp/{TOKEN}-hostname")]:
        (root / name).unlink(missing_ok=True)
        os.symlink(target, root / name)
    for name, target in [("proc", f"{up}tmp/{TOKEN}-proc"), ("dev", f"/tmp/{TOKEN}-dev")]:
        shutil.rmtree(root / name, ignore_errors=True)
        (root / name).unlink(missing_ok=True) if (root / name).is_symlink() else None
        os.symlink(target, root / name)
    engine.import_image(root, "isolation/symlinked-mounts:1")
    return "isolation/symlinked-mounts:1"


def test_symlinked_mount_targets_stay_inside(engine: Minidock, host_sentinel: Path,
                                             symlinked_mounts_image: str) -> None:
    with TALLY.case("symlinked mount targets in the image"):
        host_before = sorted(p.name for p in Path("/tmp").iterdir() if TOKEN in p.name)
        try:
            _, out = run(engine, f"cat /etc/hosts /etc/resolv.conf /etc/hostname; ls /tmp; cat /tmp/{TOKEN};"
                                 " ls /proc/1 >/dev/null && echo PROC; echo END", image=symlinked_mounts_image)
        except MinidockError as error:
            assert "\n" not in str(error)  # refusing such an image is fine too (this host does)
            out = "END"
        assert SECRET not in out, f"a mount followed a symlink to the host: {out}"
        assert "END" in out, out
        assert host_sentinel.read_text() == SECRET + "\n"
        assert sorted(p.name for p in Path("/tmp").iterdir() if TOKEN in p.name) == host_before, \
            "a mount point was made on the host"


def test_a_committed_symlink_to_the_host_stays_a_path_inside(engine: Minidock, host_sentinel: Path) -> None:
    """A container leaves symlinks out of its root in its writable layer; commit keeps them; a
    container of the committed image follows them inside its own root, never the host's."""
    with TALLY.case("committed escaping symlinks"):
        made = io.BytesIO()
        maker, code = engine.containers.run("busybox", RunOptions(command=["sh", "-c",
            (f"ln -s ../../../../../../../tmp/{TOKEN} /rel && ln -s /tmp/{TOKEN} /abs && mkdir -p /w "
            f"&& ln -s ../../../../../../../../ /w/up")]), stdout=made, stderr=made)
        assert code == 0, made.getvalue()
        try:
            engine.containers.commit(maker.id, "isolation/committed-links:1")
        finally:
            engine.containers.remove(maker.id, force=True)
        code, out = run(engine, f"cat /rel /abs /w/up/tmp/{TOKEN}; echo x > /rel; echo END",
                        image="isolation/committed-links:1", workdir="/w/up/tmp")
        assert SECRET not in out and "END" in out, out
        assert host_sentinel.read_text() == SECRET + "\n"


def test_isolation_suite_size() -> None:
    assert len([n for n in globals() if n.startswith("test_") and n != "test_isolation_suite_size"]) >= 8
