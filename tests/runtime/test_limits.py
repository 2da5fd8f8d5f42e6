"""Resource limits through the cgroups this host delegates (v1, v2 or hybrid)."""

from __future__ import annotations

from pathlib import Path

import pytest

from minidock_magic.errors import Unsupported
from minidock_magic.runtime import Isolation, ResourceLimits, probe_host, start
from minidock_magic.runtime import cgroups
from tests.runtime.helpers import capture, spec

pytestmark = pytest.mark.integration

LIMITS = ResourceLimits(memory=64 * 2**20, cpus=0.5, pids=32)
EXPECTED = {  # controller -> {file: value} for v1 and v2
    "memory": {"memory.limit_in_bytes": str(64 * 2**20), "memory.max": str(64 * 2**20)},
    "cpu": {"cpu.cfs_quota_us": "50000", "cpu.max": "50000 100000"},
    "pids": {"pids.max": "32"},
}


@pytest.fixture
def delegated() -> None:
    missing = {"memory", "cpu", "pids"} - probe_host().cgroup_controllers
    if missing:  # the other branch is test_limits_refused_where_not_delegated
        pytest.skip(f"this host does not delegate cgroup controllers {sorted(missing)}")


def _container_cgroups(pid: int) -> dict[str, Path]:
    """controller -> the container's cgroup directory, as the host sees it."""
    paths = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else ["(v2)"]:
            paths[c] = path
    found = {}
    for mountpoint, fstype, opts in cgroups._mounts():
        for c in ("memory", "cpu", "pids"):
            key = "(v2)" if fstype == "cgroup2" else c
            if c not in found and key in paths and (fstype == "cgroup2" or c in opts):
                candidate = Path(mountpoint) / paths[key].lstrip("/")
                if candidate.name.startswith("minidock-"):
                    found[c] = candidate
    return found


@pytest.mark.parametrize("isolation", [Isolation.NAMESPACES, Isolation.ROOTLESS])
def test_limits_are_set_on_the_container_cgroup(rootfs: Path, isolation: Isolation,
                                                delegated: None) -> None:
    if not probe_host().supports(isolation):
        pytest.skip(f"{isolation} is not available here")
    process = start(spec(rootfs, "sleep", "60", limits=LIMITS), isolation=isolation)
    try:
        dirs = _container_cgroups(process.pid)
        for controller, files in EXPECTED.items():
            directory = dirs[controller]
            assert directory.name.startswith("minidock-")
            written = {f: v for f, v in files.items() if (directory / f).exists()}
            assert written and all((directory / f).read_text().split() == v.split()
                                   for f, v in written.items()), (directory, written)
    finally:
        process.stop(timeout=0.5)
    assert not any(d.exists() for d in dirs.values())  # removed when the container ended


def test_pids_limit_stops_a_fork_bomb(rootfs: Path, delegated: None) -> None:
    script = "for i in $(seq 20); do sleep 5 & done"
    result = capture(spec(rootfs, "sh", "-c", script, limits=ResourceLimits(pids=8)), None)
    assert "can't fork" in result.err, result


def test_memory_limit_kills_with_137(rootfs: Path, delegated: None) -> None:
    hog = 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'
    result = capture(spec(rootfs, "sh", "-c", hog, limits=ResourceLimits(memory=32 * 2**20)), None)
    assert result.status == 137 and "survived" not in result.out


def test_limits_refused_where_not_delegated(rootfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "hierarchies", lambda: {})
    with pytest.raises(Unsupported, match="does not allow resource limits"):
        capture(spec(rootfs, "true", limits=ResourceLimits(memory=2**26)), None)
