"""The real rootless test: the engine run by an unprivileged host user.

``isolation=ROOTLESS`` as root still maps root to root; only a user without privileges shows
that containers work with nothing but unprivileged user namespaces. As root this test creates
such a user, gives it a Python it can execute (root's home — and the default Python in it — is
closed to others, so a venv of Debian's /usr/bin/python3 outside it) and a world-readable copy
of the package, and runs a script as that user.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.helpers import make_busybox_rootfs
from tests.runtime.unprivileged import chown_tree, install_engine
from tests.runtime.unprivileged import unprivileged_user as unprivileged_user_named

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USER = "minidock-rootless"

SCRIPT = r'''
import io, json, os, sys
from pathlib import Path
from minidock_magic.errors import MinidockError
from minidock_magic.runtime import (OverlayMount, ProcessSpec, ResourceLimits, probe_host, run)

base = Path(sys.argv[1])
caps = probe_host()
out = {"uid": os.getuid(), "describe": caps.describe(),
       "default": str(caps.default_isolation()), "subordinate_ids": caps.subordinate_ids}

def cap(argv, rootfs=base / "rootfs", **fields):
    o, e = io.BytesIO(), io.BytesIO()
    try:
        status = run(ProcessSpec(rootfs, argv, ["PATH=/bin"], **fields), stdout=o, stderr=e)
    except MinidockError as exc:
        return [type(exc).__name__, str(exc)]
    return [status, o.getvalue().decode(), e.getvalue().decode()]

out["echo"] = cap(["echo", "hi"])
out["root_inside"] = cap(["id", "-u"])
out["nobody"] = cap(["id", "-u"], user="65534")
out["pid1_hostname"] = cap(["sh", "-c", "echo $$; hostname"], hostname="rl")
out["net"] = cap(["cat", "/proc/net/dev"])
out["fds"] = cap(["ls", "/proc/self/fd"])
overlay = OverlayMount([base / "lower"], base / "upper", base / "work")
out["overlay"] = cap(["sh", "-c", "echo new > /created; rm /etc/motd; ls /etc"],
                     rootfs=base / "merged", overlay=overlay)
out["limits"] = cap(["true"], limits=ResourceLimits(memory=2**26))
o = io.BytesIO()
try:
    run(ProcessSpec(base / "rootfs", ["true"], []), isolation="namespaces", stdout=o)
    out["forced_namespaces"] = "ran"
except MinidockError as exc:
    out["forced_namespaces"] = [type(exc).__name__, str(exc)]
print(json.dumps(out))
'''


@pytest.fixture
def unprivileged_user() -> Iterator[pwd.struct_passwd]:
    if os.geteuid() != 0:
        pytest.skip("already unprivileged: every other runtime test is the rootless test")
    with unprivileged_user_named(USER) as entry:
        yield entry


def test_engine_as_an_unprivileged_user(unprivileged_user: pwd.struct_passwd) -> None:
    uid, gid = unprivileged_user.pw_uid, unprivileged_user.pw_gid
    base = Path(tempfile.mkdtemp(prefix="minidock-rootless-"))
    try:
        base.chmod(0o755)
        install_engine(base)  # the package and its seccomp binding, a system-Python venv
        make_busybox_rootfs(base / "rootfs")
        lower = make_busybox_rootfs(base / "lower")
        (lower / "etc" / "motd").write_text("hello\n")
        for name in ("upper", "work", "merged"):
            (base / name).mkdir()
        # Layers unpacked by that user are that user's files: root inside its namespace.
        for name in ("rootfs", "lower", "upper", "work", "merged"):
            chown_tree(base / name, uid, gid)
        done = subprocess.run(
            [str(base / "venv" / "bin" / "python"), "-c", SCRIPT, str(base)],
            user=uid, group=gid, extra_groups=[], cwd=base, capture_output=True, text=True,
            env={"HOME": str(base), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(base / "src")},
            timeout=300)
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["uid"] == uid
        assert out["default"] == "rootless", out["describe"]
        assert out["echo"] == [0, "hi\n", ""]
        assert out["root_inside"][:2] == [0, "0\n"]
        if out["subordinate_ids"]:  # useradd gave it a range: uid 65534 exists inside
            assert out["nobody"][:2] == [0, "65534\n"]
        else:
            assert out["nobody"][0] == "InvalidArgument" and "/etc/subuid" in out["nobody"][1]
        assert out["pid1_hostname"][:2] == [0, "1\nrl\n"]
        assert [ln.split(":")[0].strip() for ln in out["net"][1].splitlines()[2:]] == ["lo"]
        assert out["fds"][1].split() == ["0", "1", "2", "3"]
        assert out["overlay"][0] == 0 and "motd" not in out["overlay"][1].split()
        assert (base / "upper" / "created").read_text() == "new\n"
        assert (lower / "etc" / "motd").exists()
        assert out["limits"][0] == "Unsupported" and "does not allow" in out["limits"][1]
        assert out["forced_namespaces"][0] == "Unavailable"
    finally:
        shutil.rmtree(base, ignore_errors=True)
