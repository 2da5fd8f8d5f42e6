"""``python -S -m minidock_magic.runtime._probe``: try what the host allows, print JSON.

Guessing from sysctls and kernel versions is unreliable (seccomp profiles, LSMs and hosted
notebooks each refuse different things), so every capability is *tried*, each in a forked child
of this fresh single-threaded process, so a half-made namespace never leaks into the next test.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from . import _libc, cgroups, idmap

NAMESPACES = ("mount", "pid", "uts", "ipc", "net")


def _in_child(check: Callable[[], None]) -> bool:
    pid = os.fork()
    if pid == 0:
        try:
            check()
            os._exit(0)
        except BaseException:  # noqa: BLE001 - any failure means "not allowed"
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _unshare(flags: int, userns: bool) -> None:
    if userns:
        idmap.enter_user_namespace(flags, idmap.IdMapPlan(os.geteuid(), os.getegid(), None, None))
    else:
        _libc.unshare(flags)


def _namespace(name: str, userns: bool, scratch: Path) -> Callable[[], None]:
    def check() -> None:
        flag = _libc.NAMESPACE_FLAGS[name]
        if name == "pid":  # a PID namespace is only useful with its own /proc
            _unshare(flag | _libc.CLONE_NEWNS, userns)
            if not _in_child(lambda: _private_mount("proc", "proc", scratch)):
                raise OSError("cannot mount proc")
        elif name == "mount":
            _unshare(flag, userns)
            _private_mount("tmpfs", "tmpfs", scratch)
        else:
            _unshare(flag, userns)
            if name == "net":
                _libc.interface_up("lo")
    return check


def _private_mount(source: str, fstype: str, target: Path) -> None:
    _libc.mount(None, "/", None, _libc.MS_REC | _libc.MS_PRIVATE)
    _libc.mount(source, target, fstype, 0, None)


def _overlay(userns: bool, scratch: Path) -> Callable[[], None]:
    def check() -> None:
        _unshare(_libc.CLONE_NEWNS, userns)
        _libc.mount(None, "/", None, _libc.MS_REC | _libc.MS_PRIVATE)
        lower, upper, work, merged = (scratch / n for n in ("lower", "upper", "work", "merged"))
        for d in (lower, upper, work, merged):
            d.mkdir()
        (lower / "gone").write_text("x")
        data = f"lowerdir={lower},upperdir={upper},workdir={work}"
        _libc.mount("overlay", merged, "overlay", 0, data + (",userxattr" if userns else ""))
        (merged / "new").write_text("x")
        (merged / "gone").unlink()  # needs a whiteout in the upper dir
    return check


def _proot() -> str | None:
    path = shutil.which("proot")
    if path is None:
        return None
    try:
        done = subprocess.run([path, "-v", "-1", "-r", "/", "/bin/true"], timeout=20,
                              stdin=subprocess.DEVNULL, capture_output=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if done.returncode == 0 else None


def probe() -> dict[str, object]:
    is_root = os.geteuid() == 0
    with tempfile.TemporaryDirectory(prefix="minidock-probe-") as tmp:
        def scratch(name: str) -> Path:
            path = Path(tmp, name)
            path.mkdir()
            return path

        userns = _in_child(lambda: _unshare(0, True))
        rootful = [n for n in NAMESPACES
                   if is_root and _in_child(_namespace(n, False, scratch("ns-" + n)))]
        rootless = [n for n in NAMESPACES
                    if userns and _in_child(_namespace(n, True, scratch("userns-" + n)))]
        overlay = is_root and _in_child(_overlay(False, scratch("overlay")))
        rootless_overlay = userns and _in_child(_overlay(True, scratch("rootless-overlay")))
    return {
        "kernel": platform.release(), "is_root": is_root, "user_namespaces": userns,
        "subordinate_ids": idmap.plan().full, "namespaces": rootful,
        "rootless_namespaces": rootless, "overlay": overlay, "rootless_overlay": rootless_overlay,
        "proot": _proot(), "cgroups": cgroups.layout(),
        "cgroup_controllers": sorted(cgroups.hierarchies()),
    }


if __name__ == "__main__":
    json.dump(probe(), sys.stdout)
