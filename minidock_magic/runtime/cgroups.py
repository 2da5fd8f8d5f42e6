"""Resource limits through cgroups, where the host lets us create them (v2, v1 or hybrid).

The engine creates one cgroup per container *below its own* in each hierarchy it needs, writes
the limits, and the helper moves itself in before creating the container, so every container
process inherits it. Hybrid hosts (v1 controllers plus an almost empty v2 tree) are common in
VMs and CI; each controller is taken from whichever hierarchy actually offers it. Where none is
writable — a rootless user without systemd delegation, most hosted notebooks — asking for a
limit is an ``Unsupported`` error, never silently ignored.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import Unsupported
from .spec import ResourceLimits

CONTROLLERS = ("memory", "cpu", "pids")
CFS_PERIOD_US = 100_000


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """Where one cgroup controller is mounted and which cgroup this process is in."""

    controller: str
    version: int  # 1 or 2
    own: Path  # the cgroup this process is in; container cgroups go below it


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, fstype, super options) of every cgroup mount."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _source, superopts = (right.split() + ["", "", ""])[:3]
            if fstype in ("cgroup", "cgroup2"):
                found.append((left.split()[4], fstype, set(superopts.split(","))))
    return found


def _own_paths(pid: int | str = "self") -> tuple[dict[str, str], str | None]:
    """A process's cgroup path per v1 controller (and ``name=`` hierarchy), and in the v2 tree."""
    v1: dict[str, str] = {}
    v2 = None
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            hid, controllers, path = line.rstrip("\n").split(":", 2)
            if hid == "0" and controllers == "":
                v2 = path
            for c in controllers.split(","):
                v1[c] = path
    return v1, v2


def _writable(directory: Path) -> bool:
    """Really try: make and remove a child cgroup."""
    probe = directory / f"minidock-probe-{os.urandom(4).hex()}"
    try:
        probe.mkdir()
        probe.rmdir()
        return True
    except OSError:
        return False


def hierarchies() -> dict[str, Hierarchy]:
    """Controller → where this process could create a limited child cgroup."""
    try:
        mounts, (v1_paths, v2_path) = _mounts(), _own_paths()
    except OSError:
        return {}
    found: dict[str, Hierarchy] = {}
    for mountpoint, fstype, opts in mounts:
        if fstype == "cgroup2" and v2_path is not None:
            own = Path(mountpoint) / v2_path.lstrip("/")
            try:
                offered = set((own / "cgroup.controllers").read_text().split())
                enabled = set((own / "cgroup.subtree_control").read_text().split())
            except OSError:
                continue
            for c in (c for c in CONTROLLERS if c in offered and c not in enabled):
                try:  # fails when our cgroup holds processes (v2's no-internal-process rule)
                    (own / "cgroup.subtree_control").write_text(f"+{c}")
                    enabled.add(c)
                except OSError:
                    pass
            usable = [c for c in CONTROLLERS if c in enabled]
            if usable and _writable(own):
                found.update({c: Hierarchy(c, 2, own) for c in usable if c not in found})
        elif fstype == "cgroup":
            for c in (c for c in CONTROLLERS if c in opts and c in v1_paths and c not in found):
                own = Path(mountpoint) / v1_paths[c].lstrip("/")
                if own.is_dir() and _writable(own):
                    found[c] = Hierarchy(c, 1, own)
    return found


def layout() -> str:
    """'v2', 'v1', 'hybrid' or 'none': which cgroup trees the host mounts."""
    try:
        kinds = {fstype for _, fstype, _ in _mounts()}
    except OSError:
        return "none"
    return {frozenset({"cgroup2"}): "v2", frozenset({"cgroup"}): "v1",
            frozenset({"cgroup", "cgroup2"}): "hybrid"}.get(frozenset(kinds), "none")


def _settings(limits: ResourceLimits, version: int) -> dict[str, dict[str, str]]:
    """controller → {file: value}, in the order the files must be written."""
    out: dict[str, dict[str, str]] = {}
    if limits.memory is not None:
        out["memory"] = {("memory.max" if version == 2 else "memory.limit_in_bytes"):
                         str(limits.memory)}
    if limits.cpus is not None:
        quota = max(1000, int(limits.cpus * CFS_PERIOD_US))
        out["cpu"] = ({"cpu.max": f"{quota} {CFS_PERIOD_US}"} if version == 2 else
                      {"cpu.cfs_period_us": str(CFS_PERIOD_US), "cpu.cfs_quota_us": str(quota)})
    if limits.pids is not None:
        out["pids"] = {"pids.max": str(limits.pids)}
    return out


def create(limits: ResourceLimits, name: str) -> list[Path]:
    """Make the container's cgroups with ``limits`` set; returns the directories to join."""
    available = hierarchies()
    wanted = [c for c in CONTROLLERS if c in _settings(limits, 2)]
    missing = [c for c in wanted if c not in available]
    if missing:
        raise Unsupported(f"this host does not allow resource limits ({', '.join(missing)}): no "
                          "writable cgroup is delegated to this user; run without limits")
    made: list[Path] = []
    try:
        for c in wanted:
            h = available[c]
            directory = h.own / name
            if directory not in made:
                directory.mkdir()
                made.append(directory)
            for file, value in _settings(limits, h.version)[c].items():
                (directory / file).write_text(value)
    except OSError as exc:
        remove(made)
        raise Unsupported(f"cannot set resource limits: {exc.strerror} ({exc.filename})") from None
    return made


#: The prefix of every cgroup ``create`` makes: a cgroup that holds a container's limits.
PREFIX = "minidock-"


def differing(pid: int) -> list[str]:
    """The cgroup directories of ``pid`` that are not this process's, in the v2 tree and the
    v1 hierarchies of the limited controllers: what a process must join to be counted and
    limited with it (``exec`` joins PID 1's)."""
    (theirs_v1, theirs_v2), (ours_v1, ours_v2) = _own_paths(pid), _own_paths()
    found: list[str] = []
    for mountpoint, fstype, opts in _mounts():
        if fstype == "cgroup2":
            if theirs_v2 is not None and theirs_v2 != ours_v2:
                found.append(os.path.join(mountpoint, theirs_v2.lstrip("/")))
            continue
        for key in opts & set(CONTROLLERS):
            if key in theirs_v1 and theirs_v1[key] != ours_v1.get(key):
                found.append(os.path.join(mountpoint, theirs_v1[key].lstrip("/")))
                break
    return list(dict.fromkeys(found))


def holds_limits(directory: str) -> bool:
    """Whether ``directory`` is a container's own cgroup (one ``create`` made).

    >>> holds_limits("/sys/fs/cgroup/pids/user.slice/minidock-0123abcd4567"), holds_limits("/a/b")
    (True, False)
    """
    return os.path.basename(directory.rstrip("/")).startswith(PREFIX)


def join(directories: list[str], pid: int) -> None:
    for directory in directories:
        with open(os.path.join(directory, "cgroup.procs"), "w") as f:
            f.write(str(pid))


def remove(directories: list[Path]) -> None:
    """Remove container cgroups; the kernel refuses (EBUSY) until the last task is gone."""
    for directory in directories:
        for _ in range(100):
            try:
                directory.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.01)
