"""``exec`` as a way out: an exec'd process must get exactly what PID 1 gets, and the engine must
run nothing on the host that the container chose."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.security.conftest import BoxFactory, cli, probe_results, report, status_fields
from tests.runtime.test_limits import delegated  # noqa: F401  (the fixture: limits need delegated cgroups)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("needs_namespaces")]

CAP_SETS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def test_exec_runs_nothing_found_through_the_containers_path(make_box: BoxFactory,
                                                             tmp_path: Path) -> None:
    # The container plants `nsenter` in its writable layer, whose host directory it can learn
    # (snapshot directories are numbered); an image ENV PATH pointing there made `exec` run it
    # on the host as root.
    planter = make_box("sh", "-c", "mkdir -p /pwn && printf '#!/bin/sh\\ntouch %s\\n' > "
                       "/pwn/nsenter && chmod 755 /pwn/nsenter" % (tmp_path / "pwned"), start=False)
    assert planter.run_attached()[0] == 0
    upper = planter.engine.containers.inspect(planter.name)["GraphDriver"]["Data"]["UpperDir"]
    planted = Path(upper) / "pwn" / "nsenter"
    assert planted.is_file()
    victim = make_box(env=[f"PATH={planted.parent}:/usr/sbin:/usr/bin:/sbin:/bin"])
    done = cli(victim.engine, "exec", victim.name, "true")
    report("exec with the container's PATH leading to a planted nsenter",
           f"exit {done.returncode}; planted program ran on the host: "
           f"{(tmp_path / 'pwned').exists()}")
    assert not (tmp_path / "pwned").exists()
    assert done.returncode == 0, done.stderr


def test_exec_gets_pid1s_capability_sets(make_box: BoxFactory) -> None:
    box = make_box()
    code, out = box.exec("cat", "/proc/self/status")
    mine, pid1 = status_fields(out), box.pid1_status()
    report("exec'd shell's capability sets against PID 1's",
           " ".join(f"{k}={mine.get(k)}" for k in CAP_SETS))
    assert code == 0
    assert {k: mine[k] for k in CAP_SETS} == {k: pid1[k] for k in CAP_SETS}
    assert mine["CapEff"] == "00000000a80425fb"  # docker's default set, not host root's


def test_exec_as_another_user_has_no_capabilities(make_box: BoxFactory) -> None:
    code, out = make_box().exec("cat", "/proc/self/status", user="65534")
    fields = status_fields(out)
    report("exec -u 65534 capability sets", f"CapEff={fields.get('CapEff')} "
           f"CapPrm={fields.get('CapPrm')} Uid={fields.get('Uid')}")
    assert code == 0
    assert fields["CapEff"] == fields["CapPrm"] == "0000000000000000"
    assert fields["Uid"].split()[0] == "65534"


def test_exec_runs_under_seccomp_and_no_new_privs(make_box: BoxFactory) -> None:
    box = make_box()
    code, out = box.exec("cat", "/proc/self/status")
    fields = status_fields(out)
    report("exec'd process's Seccomp / NoNewPrivs", f"Seccomp={fields.get('Seccomp')} "
           f"NoNewPrivs={fields.get('NoNewPrivs')} (PID 1: {box.pid1_status()['Seccomp']})")
    assert code == 0
    assert fields["Seccomp"] == "2" and fields["NoNewPrivs"] == "1"
    assert box.pid1_status()["Seccomp"] == "2"


def test_exec_escape_syscalls_are_refused(make_box: BoxFactory) -> None:
    code, out = make_box().exec("/sysprobe", "keyctl", "unshare_user_mnt_cgroup", "mount_cgroup",
                                "mount_proc", "setns")
    results = probe_results(out)
    report("keyctl, nested unshare, cgroup/proc mounts and setns from an exec'd process",
           ", ".join(f"{k}={v}" for k, v in results.items()))
    assert code == 0
    assert results == dict.fromkeys(["keyctl", "unshare_user_mnt_cgroup", "mount_cgroup",
                                     "mount_proc", "setns"], "EPERM")


def test_exec_is_held_by_the_pids_limit(make_box: BoxFactory, delegated: None) -> None:  # noqa: F811
    box = make_box(pids_limit=5)
    loop = "for i in " + " ".join(map(str, range(25))) + "; do sleep 30 >/dev/null 2>&1 & done"
    box.exec("sh", "-c", loop + " 2>/dev/null; true")
    running = len(box.engine.containers.top(box.name).rows)
    report("a 25-process loop from exec under --pids-limit 5",
           f"processes in the container afterwards: {running}")
    assert 0 < running <= 5


def test_exec_joins_pid1s_cgroups(make_box: BoxFactory, delegated: None) -> None:  # noqa: F811
    box = make_box(pids_limit=50)
    code, out = box.exec("cat", "/proc/self/cgroup")
    pid1 = Path(f"/proc/{box.pid}/cgroup").read_text()
    report("exec'd process's cgroups against PID 1's", "equal" if out == pid1 else "different")
    assert code == 0
    assert out == pid1


def test_exec_is_held_by_the_memory_limit(make_box: BoxFactory, delegated: None) -> None:  # noqa: F811
    box = make_box(memory=32 << 20)
    code, out = box.exec("sh", "-c", "dd if=/dev/zero of=/dev/null bs=100M count=1 && echo done")
    report("allocating 100 MB from exec under -m 32m", f"exit {code}, {out.strip()[-60:]!r}")
    assert "done" not in out
    assert code != 0


def test_exec_cannot_write_a_host_proc_sys_value(make_box: BoxFactory) -> None:
    host = Path("/proc/sys/kernel/printk_ratelimit")
    before = host.read_text()
    value = before.strip()
    code, out = make_box().exec(
        "sh", "-c", f"echo {value} > /proc/sys/kernel/printk_ratelimit && echo wrote-proc; "
        f"mount -o remount,rw /proc/sys && echo remounted; mkdir -p /p; mount -t proc proc /p && "
        f"echo {value} > /p/sys/kernel/printk_ratelimit && echo wrote-new-proc; true")
    report("writing host kernel settings from exec (read-only /proc/sys, remount, new proc)",
           f"output {out.strip()!r}")
    assert "wrote" not in out and "remounted" not in out
    assert host.read_text() == before


def test_exec_stays_in_the_containers_root(make_box: BoxFactory) -> None:
    box = make_box()
    code, out = box.exec("sh", "-c", "ls /; readlink /proc/self/root; stat -c %i /")
    pid1_root = os.stat(f"/proc/{box.pid}/root")
    report("what / an exec'd process sees", out.replace("\n", " ")[:120])
    assert code == 0
    assert "work" not in out.split() and "root" in out.split()  # busybox has /root, not /work
    assert out.split()[-1] == str(pid1_root.st_ino)


def test_exec_gets_pid1s_rlimits(make_box: BoxFactory) -> None:
    box = make_box()
    code, out = box.exec("cat", "/proc/self/limits")
    report("exec'd process's rlimits against PID 1's", "equal"
           if out == Path(f"/proc/{box.pid}/limits").read_text() else "different")
    assert out == Path(f"/proc/{box.pid}/limits").read_text()


def test_exec_cannot_trace_pid1_as_another_user(make_box: BoxFactory) -> None:
    code, out = make_box().exec("/sysprobe", "ptrace_attach_pid1", user="65534")
    report("ptrace(PTRACE_ATTACH, 1) from exec -u 65534", out.strip())
    assert probe_results(out)["ptrace_attach_pid1"] == "EPERM"


def test_exec_cannot_open_a_device_node_it_makes(make_box: BoxFactory) -> None:
    code, out = make_box().exec("/sysprobe", "mknod_block_open")
    report("mknod /dev/probe-loop b 7 0 then open it, from exec", out.strip())
    assert probe_results(out)["mknod_block_open"] in ("EACCES", "EPERM")


def test_exec_of_a_container_that_is_gone_is_refused(make_box: BoxFactory) -> None:
    box = make_box("true", start=False)
    box.run_attached()
    done = cli(box.engine, "exec", box.name, "true")
    report("exec into an exited container", f"exit {done.returncode}: {done.stderr.strip()!r}")
    assert done.returncode != 0 and b"not running" in done.stderr

