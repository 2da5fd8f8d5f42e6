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

from tests.containers import ports_scenarios
from tests.runtime.test_rootless_user import unprivileged_user  # noqa: F401  (the fixture)
from tests.runtime.unprivileged import install_engine

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_scenarios_as_an_unprivileged_user(unprivileged_user: pwd.struct_passwd) -> None:  # noqa: F811
    uid, gid = unprivileged_user.pw_uid, unprivileged_user.pw_gid
    base = Path(tempfile.mkdtemp(prefix="minidock-ports-"))
    try:
        base.chmod(0o755)
        python = install_engine(base)
        shutil.copy(ports_scenarios.__file__, base / "src" / "ports_scenarios.py")
        (base / "work").mkdir()
        shutil.chown(base / "work", uid, gid)
        names = list(ports_scenarios.SCENARIOS)
        done = subprocess.run(
            [str(python), str(base / "src" / "ports_scenarios.py"),
             str(base / "work" / "homes"), *names],
            user=uid, group=gid, extra_groups=[], cwd=base / "work", capture_output=True,
            text=True, timeout=600, check=False,
            env={"HOME": str(base / "work"), "PATH": "/usr/bin:/bin",
                 "PYTHONPATH": str(base / "src")})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {name: "ok" for name in names}
    finally:
        shutil.rmtree(base, ignore_errors=True)
