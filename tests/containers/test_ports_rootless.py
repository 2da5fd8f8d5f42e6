"""The published-port scenarios run by an unprivileged host user (rootless containers): the
forwarder then joins the container's user namespace before its network namespace, and a
privileged host port is refused with one clear line."""

from __future__ import annotations

import json
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import minidock_magic
from tests.containers import ports_scenarios
from tests.runtime.test_rootless_user import SYSTEM_PYTHON, unprivileged_user  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_scenarios_as_an_unprivileged_user(unprivileged_user: pwd.struct_passwd) -> None:  # noqa: F811
    uid, gid = unprivileged_user.pw_uid, unprivileged_user.pw_gid
    base = Path(tempfile.mkdtemp(prefix="minidock-ports-"))
    try:
        base.chmod(0o755)
        shutil.copytree(Path(minidock_magic.__file__).parent, base / "src" / "minidock_magic",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ports_scenarios.__file__, base / "src" / "ports_scenarios.py")
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", "--without-pip",
                        str(base / "venv")], check=True)
        (base / "work").mkdir()
        shutil.chown(base / "work", uid, gid)
        names = list(ports_scenarios.SCENARIOS)
        done = subprocess.run(
            [str(base / "venv" / "bin" / "python"), str(base / "src" / "ports_scenarios.py"),
             str(base / "work" / "homes"), *names],
            user=uid, group=gid, extra_groups=[], cwd=base / "work", capture_output=True,
            text=True, timeout=600, check=False,
            env={"HOME": str(base / "work"), "PATH": "/usr/bin:/bin",
                 "PYTHONPATH": str(base / "src")})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {name: "ok" for name in names}
    finally:
        shutil.rmtree(base, ignore_errors=True)
