"""The adversarial cases that apply to rootless containers, run by an unprivileged host user.

Started as root, this creates such a user and runs a script as it (``tests.runtime.unprivileged``):
PID 1 in a user namespace, then ``exec`` into it, and every escape tried from both.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.runtime.helpers import make_busybox_rootfs
from tests.runtime.unprivileged import chown_tree, install_engine, unprivileged_user
from tests.security.conftest import build_sysprobe, probe_results, report, status_fields

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: One user per xdist worker: two workers must not add and delete the same user.
USER = "minidock-security" + os.environ.get("PYTEST_XDIST_WORKER", "")
PROBES = ["keyctl", "add_key", "unshare_user_mnt_cgroup", "clone_newuser", "mount_tmpfs",
          "mount_cgroup", "mknod_block_open", "kexec_load", "open_by_handle_at"]

SCRIPT = r'''
import io, json, os, subprocess, sys
from pathlib import Path
from minidock_magic.runtime import ProcessSpec, start
from minidock_magic.runtime.process import exec_in
from minidock_magic.runtime.spec import ExecSpec

base, probes = Path(sys.argv[1]), sys.argv[2:]
env = ["PATH=/bin"]
out = {"host_userns": os.readlink("/proc/self/ns/user")}

def ran(process, buffer):
    return [process.wait(), buffer.getvalue().decode()]

buffer = io.BytesIO()
out["pid1_probe"] = ran(start(ProcessSpec(base / "rootfs", ["/sysprobe", *probes], env),
                              isolation="rootless", stdout=buffer, stderr=buffer), buffer)
pid1 = start(ProcessSpec(base / "rootfs", ["sleep", "60"], env), isolation="rootless",
             stdout=subprocess.DEVNULL)
try:
    out["pid1_status"] = Path(f"/proc/{pid1.pid}/status").read_text()
    out["pid1_userns"] = os.readlink(f"/proc/{pid1.pid}/ns/user")
    for name, argv in (("status", ["cat", "/proc/self/status"]),
                       ("userns", ["readlink", "/proc/self/ns/user"]),
                       ("probe", ["/sysprobe", *probes])):
        buffer = io.BytesIO()
        out["exec_" + name] = ran(exec_in(ExecSpec(pid1.pid, argv, env), stdout=buffer,
                                          stderr=buffer), buffer)
    source = base / "input.txt"
    with source.open("rb") as stdin:
        buffer = io.BytesIO()
        exec_in(ExecSpec(pid1.pid, ["sh", "-c", "echo X > /proc/self/fd/0"], env),
                stdin=stdin, stdout=buffer, stderr=buffer).wait()
    out["input_after"] = source.read_text()
finally:
    pid1.stop(timeout=1)
# A PID 1 that runs as another user of the namespace (subordinate ids) is entered all the same.
other = start(ProcessSpec(base / "rootfs", ["sleep", "60"], env, user="65534"),
              isolation="rootless", stdout=subprocess.DEVNULL)
try:
    buffer = io.BytesIO()
    out["exec_into_nobody"] = ran(exec_in(ExecSpec(other.pid, ["id", "-u"], env), stdout=buffer,
                                          stderr=buffer), buffer)
finally:
    other.stop(timeout=1)
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def rootless_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if os.geteuid() != 0:
        pytest.skip("needs root to create the unprivileged user")
    with unprivileged_user(USER) as user:
        base = Path(tempfile.mkdtemp(prefix="minidock-security-"))
        try:
            base.chmod(0o755)
            python = install_engine(base)
            rootfs = make_busybox_rootfs(base / "rootfs")
            shutil.copy2(build_sysprobe(tmp_path_factory.mktemp("probe")), rootfs / "sysprobe")
            (base / "input.txt").write_text("precious\n")
            chown_tree(rootfs, user.pw_uid, user.pw_gid)
            os.chown(base / "input.txt", user.pw_uid, user.pw_gid)
            done = subprocess.run(
                [str(python), "-c", SCRIPT, str(base), *PROBES], user=user.pw_uid,
                group=user.pw_gid, extra_groups=[], cwd=base, capture_output=True, text=True,
                env={"HOME": str(base), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(base / "src")},
                timeout=300)
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)
        finally:
            shutil.rmtree(base, ignore_errors=True)


def test_rootless_exec_enters_the_user_namespace(rootless_run: dict) -> None:
    code, userns = rootless_run["exec_userns"]
    report("rootless exec: which user namespace the exec'd process is in",
           f"{userns.strip()} (PID 1: {rootless_run['pid1_userns']}, host: "
           f"{rootless_run['host_userns']})")
    assert code == 0
    assert userns.strip() == rootless_run["pid1_userns"] != rootless_run["host_userns"]


def test_rootless_exec_gets_pid1s_confinement(rootless_run: dict) -> None:
    mine = status_fields(rootless_run["exec_status"][1])
    pid1 = status_fields(rootless_run["pid1_status"])
    keys = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Seccomp", "NoNewPrivs")
    report("rootless exec: capability sets, seccomp, no_new_privs against PID 1's",
           " ".join(f"{k}={mine.get(k)}" for k in keys))
    assert {k: mine[k] for k in keys} == {k: pid1[k] for k in keys}
    assert mine["Seccomp"] == "2" and mine["CapEff"] == "00000000a80425fb"


@pytest.mark.parametrize("who", ["pid1", "exec"])
def test_rootless_escapes_are_refused(rootless_run: dict, who: str) -> None:
    code, output = rootless_run[f"{who}_probe"]
    results = probe_results(output)
    report(f"rootless {who}: keyrings, nested namespaces, mounts, device nodes, kernel calls",
           str(results))
    assert code == 0
    assert set(results) == set(PROBES)
    assert all(results[p] == "EPERM" for p in PROBES if p != "mknod_block_open")
    assert results["mknod_block_open"] in ("EPERM", "EACCES")


def test_rootless_exec_stdin_is_not_the_callers_file(rootless_run: dict) -> None:
    report("rootless exec: echo X > /proc/self/fd/0 with stdin from a file",
           f"file now {rootless_run['input_after']!r}")
    assert rootless_run["input_after"] == "precious\n"


def test_rootless_exec_enters_a_pid1_of_another_user(rootless_run: dict) -> None:
    code, output = rootless_run["exec_into_nobody"]
    report("rootless exec into a container whose PID 1 runs as uid 65534", f"exit {code}, "
           f"exec'd as uid {output.strip()}")
    assert [code, output] == [0, "0\n"]
