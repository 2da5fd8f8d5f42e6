"""What isolation this host allows, found by trying, and said plainly for ``minidock info``."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Unavailable
from .spec import Isolation

#: Bump when the probe learns to look for something new, so cached answers are not reused.
PROBE_VERSION = 2

#: One line wherever proot runs or could: it only translates paths, so it confines nothing.
PROOT_WARNING = ("proot is not a security boundary: the container's processes can reach the "
                 "host's processes, network and files as the user running it")


def choose(isolation: str) -> str:
    """How a user asks for ``isolation``, in the CLI and in a notebook (for advice in errors).

    >>> choose("proot")
    "--isolation proot (in a notebook: %config DockMagics.isolation = 'proot')"
    """
    return f"--isolation {isolation} (in a notebook: %config DockMagics.isolation = '{isolation}')"

#: Namespaces a container needs: mount, PID, UTS, IPC and network (for ``network="none"``).
REQUIRED = frozenset({"mount", "pid", "uts", "ipc", "net"})


@dataclass(frozen=True)
class HostCapabilities:
    """What isolation this host allows, as found by trying."""

    kernel: str = ""
    is_root: bool = False
    user_namespaces: bool = False
    #: /etc/subuid and /etc/subgid ranges plus newuidmap: rootless containers get more than uid 0
    subordinate_ids: bool = False
    #: namespaces root may create directly
    namespaces: frozenset[str] = field(default_factory=frozenset)
    #: namespaces creatable inside a user namespace (the rootless way)
    rootless_namespaces: frozenset[str] = field(default_factory=frozenset)
    overlay: bool = False
    #: overlayfs inside a user namespace ("userxattr", kernel ≥ 5.11)
    rootless_overlay: bool = False
    proot: str | None = None  # path of a proot that works here
    cgroups: str = "none"  # "v2", "v1", "hybrid" or "none"
    #: controllers where this user may create a limited cgroup: memory, cpu, pids
    cgroup_controllers: frozenset[str] = field(default_factory=frozenset)

    def supports(self, isolation: Isolation) -> bool:
        if isolation is Isolation.NAMESPACES:
            return self.is_root and REQUIRED <= self.namespaces
        if isolation is Isolation.ROOTLESS:
            return self.user_namespaces and REQUIRED <= self.rootless_namespaces
        return self.proot is not None

    def default_isolation(self) -> Isolation | None:
        """The strongest backend that works here, or None if none does. Never proot for root:
        it would run images as host root with nothing between them and the host, so root gets
        it only by asking for it."""
        return next((i for i in Isolation if self.supports(i)
                     and not (i is Isolation.PROOT and self.is_root)), None)

    @property
    def overlay_usable(self) -> bool:
        """Whether the default backend can stack layers with overlayfs (else copy snapshots)."""
        isolation = self.default_isolation()
        return (isolation is Isolation.NAMESPACES and self.overlay) or \
            (isolation is Isolation.ROOTLESS and self.rootless_overlay)

    def describe(self) -> list[str]:
        """Short lines for ``minidock info`` and the notebook."""
        default = self.default_isolation()

        def yes(flag: bool) -> str:
            return "yes" if flag else "no"

        def names(found: frozenset[str]) -> str:
            return " ".join(n for n in ("mount", "pid", "uts", "ipc", "net") if n in found) \
                or "none"

        lines = [
            "isolation: " + {
                Isolation.NAMESPACES: "namespaces (mount, pid, uts, ipc, net) as root",
                Isolation.ROOTLESS: "rootless namespaces (inside a user namespace)",
                Isolation.PROOT: "proot fallback: changed root only; no pid, network or "
                                 "hostname isolation",
                None: "NONE: this host allows neither namespaces nor proot; containers cannot run"
                      if not (self.is_root and self.proot) else
                      "NONE as root: no namespaces here, and proot is used as root only when "
                      "asked for: " + choose("proot"),
            }[default],
            f"running as root: {yes(self.is_root)} (kernel {self.kernel})",
            f"user namespaces: {yes(self.user_namespaces)}"
            + (f" (extra uids from /etc/subuid: {yes(self.subordinate_ids)})"
               if self.user_namespaces else ""),
        ]
        if self.is_root:
            lines.append(f"namespaces as root: {names(self.namespaces)}")
        lines += [
            f"namespaces in a user namespace: {names(self.rootless_namespaces)}",
            "overlayfs: " + (f"{yes(self.overlay)} as root, " if self.is_root else "")
            + f"{yes(self.rootless_overlay)} rootless"
            + ("" if self.overlay_usable else " (layers are copied instead)"),
            f"proot: {self.proot or 'not available'}"
            + (f" ({PROOT_WARNING})" if self.proot and (default is Isolation.PROOT or self.is_root)
               else ""),
            f"cgroups: {self.cgroups}; limits: "
            + (", ".join(sorted(self.cgroup_controllers)) or "not allowed on this host"),
        ]
        return lines

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostCapabilities:
        sets = ("namespaces", "rootless_namespaces", "cgroup_controllers")
        fields: dict[str, Any] = {k: frozenset(v) if k in sets else v
                                  for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**fields)


@functools.cache
def probe_host() -> HostCapabilities:
    """What this host allows: tried once per boot (a child process really attempts each thing),
    then remembered in the user's cache dir, so a CLI command does not pay ~120 ms each time."""
    cache = _cache_file()
    try:
        return HostCapabilities.from_dict(json.loads(recall(cache)))
    except (OSError, ValueError, TypeError):
        pass
    found = _probe_now()
    with contextlib.suppress(OSError):
        remember(cache, json.dumps(found).encode())
    return HostCapabilities.from_dict(found)


def remember(cache: Path, data: bytes) -> None:
    """Write a cache file whole (readers see the old one or the new, never a part)."""
    cache.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, cache)


def recall(cache: Path) -> bytes:
    """A cache file's bytes, only when this user alone could have written them. What is
    remembered decides how this user's containers are confined (the seccomp program above
    all), so a file or directory another user owns or may write is refused (OSError)."""
    fd = os.open(cache, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as file:
        for found in (os.fstat(fd), os.stat(cache.parent)):
            if found.st_uid != os.geteuid() or found.st_mode & 0o022:
                raise PermissionError(f"{cache}: not this user's own cache file")
        return file.read()


def forget() -> None:
    """Drop the remembered answer (a run just contradicted it): the next call probes again."""
    probe_host.cache_clear()
    with contextlib.suppress(OSError):
        _cache_file().unlink()


#: What can take a capability away without a reboot: sysctls, this process's seccomp filters
#: (a pod's, or tests/tools/no_userns.py), the subordinate id files and the setuid helpers.
_FINGERPRINT_FILES = ("/proc/sys/user/max_user_namespaces", "/proc/sys/kernel/unprivileged_userns_clone",
                      "/proc/sys/kernel/apparmor_restrict_unprivileged_userns")


def _fingerprint() -> str:
    parts = []
    for name in _FINGERPRINT_FILES:
        with contextlib.suppress(OSError):
            parts.append(Path(name).read_text().strip())
    with contextlib.suppress(OSError):
        parts += [line for line in Path("/proc/self/status").read_text().splitlines()
                  if line.startswith(("Seccomp", "NoNewPrivs"))]
    for name in ("/etc/subuid", "/etc/subgid"):
        with contextlib.suppress(OSError):
            st = os.stat(name)
            parts.append(f"{st.st_mtime_ns}:{st.st_size}")
    parts += [str(shutil.which(tool)) for tool in ("newuidmap", "newgidmap", "proot")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _cache_file() -> Path:
    """Keyed by boot, user, kernel and what else can change (``_fingerprint``): any of them
    changing probes again, instead of trusting an answer the host no longer gives."""
    boot = boot_id()
    # os.uname() is what platform.release() reads, without importing platform (~2 ms per run)
    key = f"{boot}-{os.geteuid()}-{os.uname().release}-{_fingerprint()}-{PROBE_VERSION}"
    return cache_dir() / f"host-{key}.json"


def cache_dir() -> Path:
    """Where the runtime remembers what it worked out once (the user's cache dir, made 0700)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "minidock"


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def _probe_now() -> dict[str, Any]:
    from .launch import helper_command, helper_env

    try:
        done = subprocess.run(helper_command("_probe"), env=helper_env(), capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=60, check=True)
        data = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise Unavailable(f"cannot probe what this host allows: {exc} "
                          f"{detail.decode(errors='replace').strip()[-200:]}") from None
    if not isinstance(data, dict):
        raise Unavailable("cannot probe what this host allows: the probe answered nonsense")
    return data

