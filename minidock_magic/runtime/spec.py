"""What to run and how: the runtime's input, the same for every isolation backend.

A ``ProcessSpec`` crosses a process boundary (the caller hands it to a fresh helper process as
JSON), so it is plain data: paths, strings, numbers. ``checked`` validates and normalises one
before any process starts, so bad input fails with one clear line and changes nothing.
"""

from __future__ import annotations

import enum
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InvalidArgument, NotFound

NETWORKS = ("none", "host")


class Isolation(str, enum.Enum):
    """How a container is kept apart from the host."""

    #: Linux namespaces entered as real root (no user namespace).
    NAMESPACES = "namespaces"
    #: The same namespaces inside a user namespace whose uid 0 is the caller's uid.
    ROOTLESS = "rootless"
    #: ptrace-based path translation: a changed root and fake ids, no kernel namespaces.
    PROOT = "proot"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class OverlayMount:
    """An overlayfs to mount onto ``ProcessSpec.rootfs`` inside the container's mount namespace.

    ``lowerdirs`` are listed top-most first, exactly as overlayfs' ``lowerdir=`` option takes
    them. Without ``upperdir``/``workdir`` the overlay is read-only. ``volatile``: the writable
    layer is thrown away when the container ends (``run --rm``), so overlayfs may skip every sync
    of the upper filesystem — above all the ``syncfs`` of the whole host filesystem that an
    unmount otherwise makes as the container's mount namespace goes (podman does the same for
    ``--rm``). Such a layer cannot be mounted again (overlayfs refuses a volatile work dir).
    """

    lowerdirs: Sequence[Path]
    upperdir: Path | None = None
    workdir: Path | None = None
    volatile: bool = False


@dataclass(frozen=True, slots=True)
class ResourceLimits:
    """cgroup limits; ``None`` leaves a resource unlimited."""

    memory: int | None = None  # bytes
    cpus: float | None = None  # CPU time per wall-clock second, like ``docker run --cpus``
    pids: int | None = None  # tasks the container may hold at once


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """Everything the runtime needs to start one container process."""

    rootfs: Path
    argv: list[str]
    env: list[str]  # "K=V"
    cwd: str = "/"
    user: str = ""  # "", "uid", "uid:gid", "name", "name:group"
    hostname: str = ""  # "" means "minidock"
    network: str = "none"  # "none" (own net namespace, only lo) | "host" | "container:PID:START"
    overlay: OverlayMount | None = None
    stdin: bool = False  # pass the caller's stdin through (else /dev/null)
    tty: bool = False  # the caller's session (no new session) and TERM; stdio stay pipes
    read_only: bool = False
    extra_hosts: Sequence[tuple[str, str]] = ()  # (name, address) lines appended to /etc/hosts
    limits: ResourceLimits | None = None
    #: "builtin" (docker's default filter), "unconfined", or a profile in docker's JSON format.
    seccomp: str | dict[str, Any] = "builtin"

    def to_dict(self) -> dict[str, Any]:
        overlay = self.overlay
        return {
            "rootfs": str(self.rootfs), "argv": list(self.argv), "env": list(self.env),
            "cwd": self.cwd, "user": self.user, "hostname": self.hostname,
            "network": self.network, "stdin": self.stdin, "tty": self.tty,
            "read_only": self.read_only, "extra_hosts": [list(h) for h in self.extra_hosts],
            "overlay": None if overlay is None else {
                "lowerdirs": [str(p) for p in overlay.lowerdirs],
                "upperdir": None if overlay.upperdir is None else str(overlay.upperdir),
                "workdir": None if overlay.workdir is None else str(overlay.workdir),
                "volatile": overlay.volatile,
            },
            "limits": None if self.limits is None else {
                "memory": self.limits.memory, "cpus": self.limits.cpus, "pids": self.limits.pids,
            },
            "seccomp": self.seccomp,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessSpec:
        ov, lim = data.get("overlay"), data.get("limits")
        overlay = None if ov is None else OverlayMount(
            lowerdirs=[Path(p) for p in ov["lowerdirs"]],
            upperdir=None if ov["upperdir"] is None else Path(ov["upperdir"]),
            workdir=None if ov["workdir"] is None else Path(ov["workdir"]),
            volatile=bool(ov.get("volatile", False)),
        )
        limits = None if lim is None else ResourceLimits(**lim)
        return cls(
            rootfs=Path(data["rootfs"]), argv=list(data["argv"]), env=list(data["env"]),
            cwd=data["cwd"], user=data["user"], hostname=data["hostname"],
            network=data["network"], overlay=overlay, stdin=data["stdin"], tty=data["tty"],
            read_only=data["read_only"], extra_hosts=[(h[0], h[1]) for h in data["extra_hosts"]],
            limits=limits, seccomp=data.get("seccomp", "builtin"),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> ProcessSpec:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class ExecSpec:
    """Another process in a running container (``exec``): it enters the namespaces, cgroups
    and root of the container's PID 1 (host pid ``pid``) and gets PID 1's confinement."""

    pid: int
    argv: list[str]
    env: list[str]  # "K=V"
    cwd: str = "/"
    user: str = ""
    seccomp: str | dict[str, Any] = "builtin"
    pid_start: int | None = None  # PID 1's start time (clock ticks): a recycled pid is refused

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "argv": list(self.argv), "env": list(self.env), "cwd": self.cwd,
                "user": self.user, "seccomp": self.seccomp, "pid_start": self.pid_start}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecSpec:
        return cls(**data)
def joined_network(network: str) -> tuple[int, int] | None:
    """``container:PID:START``: share the network namespace of that process (checked by its
    start time, so a recycled pid is refused).

    >>> joined_network("container:4242:987"), joined_network("none")
    ((4242, 987), None)
    """
    kind, _, rest = network.partition(":")
    pid, _, start = rest.partition(":")
    if kind != "container" or not pid.isdigit() or not start.isdigit():
        return None
    return int(pid), int(start)


def _existing_dir(path: Path, what: str) -> Path:
    try:
        resolved = Path(os.path.realpath(path, strict=True))
    except OSError:
        raise NotFound(f"{what} {path} does not exist") from None
    if not resolved.is_dir():
        raise InvalidArgument(f"{what} {path} is not a directory")
    return resolved


def _overlay_path(path: Path, what: str) -> Path:
    # overlayfs splits its option string on ',' and lowerdir on ':'; such paths cannot be named.
    resolved = _existing_dir(path, what)
    if any(c in str(resolved) for c in ",:"):
        raise InvalidArgument(f"{what} {resolved} contains ',' or ':', which overlayfs cannot take")
    return resolved


def checked(spec: ProcessSpec) -> ProcessSpec:
    """``spec`` validated, with every host path made absolute and free of symlinks."""
    if not spec.argv or not spec.argv[0]:
        raise InvalidArgument("no command given: say what to run in the container")
    bad_env = [e for e in spec.env if "=" not in e or e.startswith("=")]
    if bad_env:
        raise InvalidArgument(f"environment entry {bad_env[0]!r} is not of the form NAME=VALUE")
    if not spec.cwd.startswith("/"):
        raise InvalidArgument(f"working directory {spec.cwd!r} must be an absolute path")
    if spec.network not in NETWORKS and joined_network(spec.network) is None:
        raise InvalidArgument(f"network {spec.network!r} is not one of: {', '.join(NETWORKS)}")
    for name, addr in spec.extra_hosts:
        if not name or not addr or any(c.isspace() for c in name + addr):
            raise InvalidArgument(f"extra host {name}:{addr} must be NAME:ADDRESS without spaces")
    overlay = spec.overlay
    if overlay is not None:
        if not overlay.lowerdirs:
            raise InvalidArgument("an overlay needs at least one lower directory")
        if (overlay.upperdir is None) != (overlay.workdir is None):
            raise InvalidArgument("an overlay needs both upperdir and workdir, or neither")
        overlay = OverlayMount(
            lowerdirs=[_overlay_path(p, "overlay lower directory") for p in overlay.lowerdirs],
            upperdir=None if overlay.upperdir is None
            else _overlay_path(overlay.upperdir, "overlay upper directory"),
            workdir=None if overlay.workdir is None
            else _overlay_path(overlay.workdir, "overlay work directory"),
            volatile=overlay.volatile and overlay.upperdir is not None,
        )
    limits = spec.limits
    if limits is not None:
        values = (("memory", limits.memory), ("cpus", limits.cpus), ("pids", limits.pids))
        for what, value in values:
            if value is not None and value <= 0:
                raise InvalidArgument(f"{what} limit must be positive, not {value}")
        if limits.memory is None and limits.cpus is None and limits.pids is None:
            limits = None
    return replace(
        spec, rootfs=_existing_dir(spec.rootfs, "rootfs"), argv=list(spec.argv),
        env=list(spec.env), overlay=overlay, limits=limits,
        extra_hosts=[(n, a) for n, a in spec.extra_hosts],
    )
