"""Fixtures for the runtime tests: a fresh busybox rootfs, and the backends this host runs."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.mark import ParameterSet

from minidock_magic.runtime import Isolation, probe_host
from tests.runtime.helpers import make_busybox_rootfs


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A temporary dir every user may traverse (pytest's tmp_path is private to root, which a
    container dropped to uid 65534 — or proot really dropping to it — could not enter)."""
    path = Path(tempfile.mkdtemp(prefix="minidock-rt-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def rootfs(world_dir: Path) -> Path:
    return make_busybox_rootfs(world_dir / "rootfs")


def _backends() -> list[ParameterSet]:
    caps = probe_host()
    params = []
    for isolation in Isolation:
        reason = None if caps.supports(isolation) else f"this host cannot use {isolation}: " \
            + "; ".join(caps.describe())
        if isolation is Isolation.NAMESPACES and os.geteuid() != 0:
            reason = "namespaces without a user namespace need root"
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(isolation, id=isolation.value, marks=marks))
    return params


@pytest.fixture(params=_backends())
def isolation(request: pytest.FixtureRequest) -> Isolation:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(params=[p for p in _backends() if p.values[0] is not Isolation.PROOT])
def ns_isolation(request: pytest.FixtureRequest) -> Isolation:
    """Only the namespace backends: PID 1, hostname, network and overlay are theirs alone."""
    return request.param  # type: ignore[no-any-return]
