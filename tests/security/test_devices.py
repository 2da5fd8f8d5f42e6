"""Devices and kernel interfaces: only docker's standard device set opens; /proc and /sys
stay out of reach."""

from __future__ import annotations

import pytest

from tests.security.conftest import BoxFactory, probe_results, report

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("needs_namespaces")]

def _run(make_box: BoxFactory, script: str) -> tuple[int, str]:
    return make_box("sh", "-c", script, start=False).run_attached()


def test_a_block_device_made_in_dev_does_not_open(make_box: BoxFactory) -> None:
    code, out = make_box("/sysprobe", "mknod_block_open", start=False).run_attached()
    report("mknod /dev/probe-loop b 7 0 (the host's loop0), then open it", out.strip())
    assert probe_results(out)["mknod_block_open"] in ("EACCES", "EPERM")


@pytest.mark.parametrize("where", ["/tmp", "/dev/shm", "/"])
def test_a_char_device_made_anywhere_writable_does_not_open(make_box: BoxFactory,
                                                            where: str) -> None:
    node = f"{where.rstrip('/')}/probe-mem"
    code, out = _run(make_box, f"mkdir -p {where}; mknod {node} c 1 1 && "
                               f"head -c 1 {node} >/dev/null && echo opened")
    report(f"mknod {node} c 1 1 (the host's /dev/mem), then read it", out.strip())
    assert "opened" not in out


def test_the_standard_devices_work(make_box: BoxFactory) -> None:
    code, out = _run(make_box, "echo x > /dev/null && head -c 3 /dev/zero | wc -c && "
                               "head -c 3 /dev/urandom | wc -c && head -c 3 /dev/random | wc -c; "
                               "echo x 2>/dev/null > /dev/full || echo full-refused; ls /dev")
    report("null, zero, urandom, random, full", out.replace("\n", " ").strip())
    assert out.split()[:3] == ["3", "3", "3"] and "full-refused" in out
    listed = set(out.split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm"} <= listed


def test_every_writable_mount_is_nodev(make_box: BoxFactory) -> None:
    code, out = _run(make_box, "cat /proc/self/mounts")
    bad = []
    for line in out.splitlines():
        source, target, fstype, options = line.split()[:4]
        flags = options.split(",")
        # devtmpfs: single host nodes bound in (the standard set, /dev/null over masked /proc
        # files); devpts: the container's own ptys.
        if "rw" in flags and "nodev" not in flags and fstype not in ("devtmpfs", "devpts"):
            bad.append(f"{target} ({fstype})")
    report("mounts a container can write that do not say nodev", ", ".join(bad) or "none")
    assert not bad


def test_sysrq_trigger_is_not_writable(make_box: BoxFactory) -> None:
    # 'h' only prints help to the kernel log; the write itself must be refused.
    code, out = _run(make_box, "echo h > /proc/sysrq-trigger && echo wrote")
    report("echo h > /proc/sysrq-trigger", out.strip())
    assert "wrote" not in out


def test_sys_is_not_writable(make_box: BoxFactory) -> None:
    code, out = _run(make_box, "mkdir -p /sys; touch /sys/kernel/probe 2>/dev/null && "
                               "echo wrote-sys; /sysprobe mount_sysfs")
    report("write to /sys, mount a new sysfs", out.replace("\n", " ").strip())
    assert "wrote-sys" not in out
    assert probe_results(out)["mount_sysfs"] == "EPERM"


def test_proc_holes_are_masked(make_box: BoxFactory) -> None:
    code, out = _run(make_box, "cat /proc/keys /proc/timer_list | wc -c")
    report("/proc/keys and /proc/timer_list (host keyrings, host timers)", out.strip())
    assert out.split() == ["0"]  # /dev/null bound over both
