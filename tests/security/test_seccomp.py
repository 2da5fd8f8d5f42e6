"""Seccomp: docker's default profile on PID 1, its argument filters, and the profile choices
(``--security-opt seccomp=unconfined|FILE.json``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from minidock_magic.errors import InvalidArgument
from tests.security.conftest import BoxFactory, cli, probe_results, report, status_fields

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.usefixtures("needs_namespaces")]

KEYRINGS = ["keyctl", "add_key", "request_key"]
NAMESPACES = ["unshare_user_mnt_cgroup", "unshare_user", "unshare_mnt", "clone_newuser", "setns"]
MOUNTS = ["mount_tmpfs", "mount_proc", "mount_cgroup", "mount_sysfs", "umount_proc_sys",
          "pivot_root"]
KERNEL = ["kexec_load", "init_module", "delete_module", "open_by_handle_at", "bpf",
          "perf_event_open", "userfaultfd", "swapon", "acct", "settimeofday", "reboot", "syslog",
          "iopl"]


def _probe(make_box: BoxFactory, *probes: str, **options: object) -> dict[str, str]:
    code, out = make_box("/sysprobe", *probes, start=False, **options).run_attached()
    assert code == 0, out
    return probe_results(out)


def test_pid1_runs_under_seccomp_with_no_new_privs(make_box: BoxFactory) -> None:
    code, out = make_box("cat", "/proc/self/status", start=False).run_attached()
    fields = status_fields(out)
    report("PID 1's seccomp mode", f"Seccomp={fields['Seccomp']} "
           f"NoNewPrivs={fields['NoNewPrivs']}")
    assert fields["Seccomp"] == "2" and fields["NoNewPrivs"] == "1"


def test_kernel_keyrings_are_out_of_reach(make_box: BoxFactory) -> None:
    results = _probe(make_box, *KEYRINGS)
    report("keyctl / add_key / request_key (host root's keyrings)", str(results))
    assert results == dict.fromkeys(KEYRINGS, "EPERM")


def test_nested_namespaces_are_refused(make_box: BoxFactory) -> None:
    results = _probe(make_box, *NAMESPACES, "clone3", "clone_plain")
    report("unshare(CLONE_NEWUSER|NEWNS|NEWCGROUP), clone(CLONE_NEWUSER), setns, clone3",
           str(results))
    assert {k: results[k] for k in NAMESPACES} == dict.fromkeys(NAMESPACES, "EPERM")
    assert results["clone3"] == "ENOSYS"  # libc falls back to clone, whose flags are filtered
    assert results["clone_plain"] == "OK"  # processes and threads still work


def test_no_new_mounts(make_box: BoxFactory) -> None:
    results = _probe(make_box, *MOUNTS)
    report("mount tmpfs/proc/cgroup/sysfs, umount /proc/sys, pivot_root", str(results))
    assert results == dict.fromkeys(MOUNTS, "EPERM")


def test_syscalls_that_reach_the_kernel_are_refused(make_box: BoxFactory) -> None:
    results = _probe(make_box, *KERNEL)
    report("kexec_load, modules, open_by_handle_at, bpf, perf, userfaultfd, swap, acct, clock, "
           "reboot, syslog, iopl", str(results))
    assert results == dict.fromkeys(KERNEL, "EPERM")


def test_argument_filters(make_box: BoxFactory) -> None:
    results = _probe(make_box, "personality_no_aslr", "personality_query", "socket_vsock",
                     "socket_unix")
    report("personality(ADDR_NO_RANDOMIZE), socket(AF_VSOCK) against the harmless forms",
           str(results))
    assert results == {"personality_no_aslr": "EPERM", "personality_query": "OK",
                       "socket_vsock": "EPERM", "socket_unix": "OK"}


def test_unconfined_is_really_unconfined(make_box: BoxFactory) -> None:
    box = make_box("sh", "-c", "grep Seccomp: /proc/self/status; /sysprobe clone3 socket_vsock",
                   start=False, security_opt=["seccomp=unconfined"])
    code, out = box.run_attached()
    results = probe_results(out)
    report("--security-opt seccomp=unconfined", out.replace("\n", " ").strip())
    assert "Seccomp:\t0" in out
    assert results["clone3"] == "OK" and results["socket_vsock"] != "EPERM"
    inspected = box.engine.containers.inspect(box.name)
    assert inspected["Seccomp"] == "unconfined"
    assert inspected["HostConfig"]["SecurityOpt"] == ["seccomp=unconfined"]


def _profile_without_mkdir(directory: Path) -> Path:
    """docker's default profile, in its JSON format, with mkdir and mkdirat left out."""
    from minidock_magic.runtime import seccomp_default
    profile = seccomp_default.profile()
    for rule in profile["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n not in ("mkdir", "mkdirat")]
    path = directory / "no-mkdir.json"
    path.write_text(json.dumps(profile))
    return path


def test_a_custom_profile_blocks_what_it_leaves_out(make_box: BoxFactory, tmp_path: Path) -> None:
    path = _profile_without_mkdir(tmp_path)
    box = make_box("sh", "-c", "mkdir /made || echo refused; touch /file && echo touched",
                   start=False, security_opt=[f"seccomp={path}"])
    code, out = box.run_attached()
    report("a docker-format profile without mkdir", out.replace("\n", " ").strip())
    assert "Operation not permitted" in out and "refused" in out and "touched" in out
    assert box.engine.containers.inspect(box.name)["Seccomp"] == "custom"


def test_exec_keeps_the_containers_custom_profile(make_box: BoxFactory, tmp_path: Path) -> None:
    path = _profile_without_mkdir(tmp_path)
    code, out = make_box(security_opt=[f"seccomp={path}"]).exec("mkdir", "/made")
    report("mkdir from exec in a container created with a profile without mkdir", out.strip())
    assert code != 0 and "Operation not permitted" in out


def test_a_bad_profile_is_refused_before_anything_is_made(busybox_engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"syscalls": []}')
    before = len(busybox_engine.containers.store.list())
    done = cli(busybox_engine, "run", "--security-opt", f"seccomp={path}", "busybox", "true")
    report("run with a profile that has no defaultAction", f"exit {done.returncode}: "
           f"{done.stderr.decode().strip()}")
    assert done.returncode == 125 and b"defaultAction" in done.stderr
    assert len(busybox_engine.containers.store.list()) == before
    with pytest.raises(InvalidArgument):
        busybox_engine.containers.create("busybox", _options(["seccomp=/no/such.json"]))


def test_info_and_inspect_say_which_profile(make_box: BoxFactory) -> None:
    box = make_box()
    info = cli(box.engine, "info").stdout.decode()
    inspected = box.engine.containers.inspect(box.name)
    report("which profile info and inspect report", f"info: {'Profile: builtin' in info}, "
           f"inspect: {inspected['Seccomp']}")
    assert "seccomp: Profile: builtin" in info
    assert inspected["Seccomp"] == "builtin"


def _options(security_opt: list[str]):
    from minidock_magic.containers.options import RunOptions
    return RunOptions(command=["true"], security_opt=security_opt)
