"""What only the namespace backends (root and rootless) provide: PID 1, hostname, network,
overlayfs, read-only roots, and mounts that image symlinks cannot redirect to the host."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from minidock_magic.errors import Unavailable, Unsupported
from minidock_magic.runtime import Isolation, OverlayMount
from tests.runtime.helpers import capture, make_busybox_rootfs, spec

pytestmark = pytest.mark.integration


def test_program_is_pid_1(rootfs: Path, ns_isolation: Isolation) -> None:
    assert capture(spec(rootfs, "sh", "-c", "echo $$"), ns_isolation).out == "1\n"


def test_only_container_processes_are_visible(rootfs: Path, ns_isolation: Isolation) -> None:
    out = capture(spec(rootfs, "ps", "-o", "pid,comm"), ns_isolation).out
    assert out.split()[2:] == ["1", "ps"]


def test_hostname(rootfs: Path, ns_isolation: Isolation) -> None:
    result = capture(spec(rootfs, "sh", "-c", "hostname; cat /etc/hostname", hostname="box"),
                     ns_isolation)
    assert result.out == "box\nbox\n"


def test_network_none_has_only_loopback_and_it_is_up(rootfs: Path,
                                                      ns_isolation: Isolation) -> None:
    out = capture(spec(rootfs, "cat", "/proc/net/dev"), ns_isolation).out
    assert [line.split(":")[0].strip() for line in out.splitlines()[2:]] == ["lo"]
    # The listener's stdin stays open (else it may quit at EOF before reading), and the client
    # retries until the listener is up: fixed sleeps lose these races on a loaded machine.
    script = ("sleep 2 | nc -l -p 7000 & for i in $(seq 100); do echo x | nc 127.0.0.1 7000 2>/dev/null "
              "&& break; sleep 0.05; done; wait")
    ping = capture(spec(rootfs, "sh", "-c", script), ns_isolation)
    assert ping.out == "x\n"


def test_network_host_sees_host_interfaces(rootfs: Path, ns_isolation: Isolation) -> None:
    out = capture(spec(rootfs, "cat", "/proc/net/dev", network="host"), ns_isolation).out
    with open("/proc/net/dev") as f:
        host = {line.split(":")[0].strip() for line in f.readlines()[2:]}
    assert {line.split(":")[0].strip() for line in out.splitlines()[2:]} == host


def test_minimal_dev(rootfs: Path, ns_isolation: Isolation) -> None:
    out = capture(spec(rootfs, "ls", "/dev"), ns_isolation).out.split()
    assert set(out) == {"fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
                        "stdout", "tty", "urandom", "zero"}
    check = "echo x > /dev/null && head -c 3 /dev/zero | wc -c && touch /dev/shm/ok && echo ok"
    assert capture(spec(rootfs, "sh", "-c", check), ns_isolation).out == "3\nok\n"


def test_root_in_the_container_cannot_mount(rootfs: Path, ns_isolation: Isolation) -> None:
    # CAP_SYS_ADMIN is not in docker's default set, so root cannot undo the engine's mounts.
    result = capture(spec(rootfs, "sh", "-c", "mount -t tmpfs none /bin"), ns_isolation)
    assert result.status != 0
    assert "denied" in result.err.lower() or "not permitted" in result.err, result


def test_host_kernel_knobs_in_proc_are_read_only(rootfs: Path, ns_isolation: Isolation) -> None:
    out = capture(spec(rootfs, "cat", "/proc/mounts"), ns_isolation).out
    options = {fields[1]: fields[3].split(",") for fields in map(str.split, out.splitlines())}
    assert "ro" in options["/proc/sys"] and "rw" in options["/proc"]


def test_read_only_rootfs(rootfs: Path, ns_isolation: Isolation) -> None:
    result = capture(spec(rootfs, "sh", "-c", "touch /x; echo $?; touch /dev/shm/y; echo $?",
                          read_only=True), ns_isolation)
    assert result.out == "1\n0\n" and "Read-only file system" in result.err
    assert not (rootfs / "x").exists()


def test_overlay_keeps_lower_read_only(world_dir: Path, ns_isolation: Isolation) -> None:
    lower = make_busybox_rootfs(world_dir / "lower")
    (lower / "etc" / "motd").write_text("from the image\n")
    upper, work, merged = (world_dir / n for n in ("upper", "work", "merged"))
    for d in (upper, work, merged):
        d.mkdir()
    overlay = OverlayMount(lowerdirs=[lower], upperdir=upper, workdir=work)
    script = "cat /etc/motd; echo new > /created; rm /etc/motd; ls /etc"
    result = capture(spec(merged, "sh", "-c", script, overlay=overlay), ns_isolation)
    assert result.status == 0, result
    assert result.out.startswith("from the image\n") and "motd" not in result.out.split()[4:]
    assert (upper / "created").read_text() == "new\n"
    assert (lower / "etc" / "motd").exists() and not (lower / "created").exists()
    assert (upper / "etc" / "motd").is_char_device()  # overlayfs' whiteout
    assert list(merged.iterdir()) == []  # the mount lived only in the container's namespace


def test_overlay_with_several_lowers(world_dir: Path, ns_isolation: Isolation) -> None:
    base = make_busybox_rootfs(world_dir / "base")
    top = world_dir / "top"
    for mount_point in ("proc", "dev", "etc"):  # a read-only root needs its mount points
        (top / mount_point).mkdir(parents=True)
    for name in ("hosts", "hostname", "resolv.conf"):
        (top / "etc" / name).touch()
    (top / "etc" / "layer").write_text("top\n")
    (world_dir / "merged").mkdir()
    overlay = OverlayMount(lowerdirs=[top, base])  # top-most first; no upper: read-only
    script = "cat /etc/layer; touch /x"
    result = capture(spec(world_dir / "merged", "sh", "-c", script, overlay=overlay), ns_isolation)
    assert result.out == "top\n" and result.status != 0
    (top / "etc" / "hosts").unlink()
    with pytest.raises(Unavailable, match="cannot create /etc/hosts in the rootfs"):
        capture(spec(world_dir / "merged", "true", overlay=overlay), ns_isolation)


def test_symlinked_mount_targets_stay_inside_the_rootfs(rootfs: Path,
                                                        ns_isolation: Isolation) -> None:
    evil = Path("/tmp") / f"minidock-evil-{uuid.uuid4().hex}"
    for name, target in (("proc", evil / "proc"), ("dev", f"../../..{evil}/dev")):
        (rootfs / name).symlink_to(target)
    (rootfs / "etc" / "hosts").symlink_to(evil / "hosts")
    try:
        result = capture(spec(rootfs, "sh", "-c", "echo $$; ls /dev/null; cat /etc/hosts"),
                         ns_isolation)
        assert result.status == 0, result
        assert result.out.startswith("1\n/dev/null\n127.0.0.1")
        assert not evil.exists()  # nothing was created, let alone mounted, on the host
        with open("/proc/self/mountinfo") as f:
            assert str(evil) not in f.read()
        assert (rootfs / evil.relative_to("/") / "proc").is_dir()  # it went here instead
    finally:
        if evil.exists():
            os.system(f"umount -R {evil} 2>/dev/null; rm -rf {evil}")


def test_proot_refuses_what_it_cannot_do(world_dir: Path, rootfs: Path) -> None:
    with pytest.raises(Unsupported, match="read-only"):
        capture(spec(rootfs, "true", read_only=True), Isolation.PROOT)
    overlay = OverlayMount(lowerdirs=[rootfs], upperdir=world_dir, workdir=world_dir)
    with pytest.raises(Unsupported, match="overlayfs"):
        capture(spec(rootfs, "true", overlay=overlay), Isolation.PROOT)


def test_device_nodes_in_the_rootfs_open_nothing(rootfs: Path, ns_isolation: Isolation) -> None:
    # A layer (or the container) may hold a device node; the rootfs is mounted nodev, so only
    # the devices bound onto the container's own /dev work.
    script = "mknod /tmp/mem c 1 1 2>/dev/null; head -c1 /tmp/mem >/dev/null 2>&1 && echo open || echo refused"
    assert capture(spec(rootfs, "sh", "-c", script), ns_isolation).out == "refused\n"

