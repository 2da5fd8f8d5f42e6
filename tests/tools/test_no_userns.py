"""The no-user-namespaces wrapper really is a host without user namespaces (else CI's third
setting proves nothing), and leaves everything else working."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

WRAPPER = Path(__file__).with_name("no_userns.py")

TRY = r"""
import ctypes, errno, json, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def call(*args):
    return 0 if libc.syscall(*args) == 0 else errno.errorcode[ctypes.get_errno()]
pid = os.fork()
if pid == 0:
    os._exit(0 if libc.unshare(0x10000000) == 0 else ctypes.get_errno())
unshare_user = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
pid = os.fork()
if pid == 0:
    os._exit(0 if libc.unshare(0x00020000) == 0 else ctypes.get_errno())  # CLONE_NEWNS alone
unshare_mount = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps({"unshare_user": errno.errorcode.get(unshare_user, unshare_user),
                  "unshare_mount": errno.errorcode.get(unshare_mount, unshare_mount),
                  "clone3": call(435, 0, 0),
                  "subprocess": subprocess.run(["true"]).returncode}))
"""


def _wrapped(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(WRAPPER), *argv], capture_output=True, text=True,
                          timeout=60)


def test_user_namespaces_are_refused_and_the_rest_works() -> None:
    pytest.importorskip("pyseccomp", reason="the wrapper needs pyseccomp (pip install pyseccomp)")
    done = _wrapped(sys.executable, "-c", TRY)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["unshare_user"] == "EPERM"
    assert seen["clone3"] == "ENOSYS"
    assert seen["subprocess"] == 0  # fork, exec and threads still work
    # A mount namespace alone is untouched: only what a pod refuses is refused (root may).
    assert seen["unshare_mount"] == (0 if os.geteuid() == 0 else "EPERM")


@pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux's unshare is not installed")
def test_unshare_user_fails_under_the_wrapper() -> None:
    pytest.importorskip("pyseccomp", reason="the wrapper needs pyseccomp (pip install pyseccomp)")
    done = _wrapped("unshare", "--user", "true")
    assert done.returncode != 0 and "Operation not permitted" in done.stderr


def test_the_engine_sees_no_user_namespaces_under_the_wrapper(tmp_path: Path) -> None:
    pytest.importorskip("pyseccomp", reason="the wrapper needs pyseccomp (pip install pyseccomp)")
    script = ("import json; from minidock_magic.runtime import probe_host; c = probe_host(); "
              "print(json.dumps([c.user_namespaces, sorted(c.rootless_namespaces)]))")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    # First without the wrapper, into the same cache: the answer cached then must not be reused
    # once user namespaces are gone (the stale probe's "newuidmap: Operation not permitted").
    before = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env=env)
    assert before.returncode == 0, before.stderr
    done = subprocess.run([sys.executable, str(WRAPPER), sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, []]


def test_no_program_is_a_usage_error() -> None:
    assert _wrapped().returncode == 125


@pytest.mark.skipif(shutil.which("proot") is None, reason="proot is not installed (apt-get install proot)")
def test_proot_works_under_the_wrapper() -> None:
    """proot voids the syscalls it emulates with a number seccomp sees as another ABI: the
    wrapper must refuse user namespaces only, not kill proot's tracees."""
    pytest.importorskip("pyseccomp", reason="the wrapper needs pyseccomp (pip install pyseccomp)")
    done = _wrapped("proot", "-r", "/", "/bin/sh", "-c", "echo inside")
    assert (done.returncode, done.stdout) == (0, "inside\n"), done.stderr
