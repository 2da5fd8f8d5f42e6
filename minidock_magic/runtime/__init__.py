"""Run a process isolated in a rootfs: the engine's runtime (containerd's runtime + runc, small).

Backends, strongest first (``probe_host().default_isolation()`` picks the first that works):

- ``NAMESPACES`` — as root: new mount, PID, UTS, IPC and network namespaces, ``pivot_root``.
- ``ROOTLESS`` — the same inside a user namespace whose uid 0 is the caller (any user, kernel
  permitting); overlayfs with ``userxattr``.
- ``PROOT`` — where the host refuses namespaces: ptrace path translation, clearly labelled.

Usage::

    spec = ProcessSpec(rootfs=Path("rootfs"), argv=["echo", "hi"], env=["PATH=/bin"])
    status = run(spec)                      # blocking, docker-style exit status
    proc = start(spec, stdout=subprocess.PIPE); proc.wait()
    exec_in(ExecSpec(proc.pid, ["ps"], ["PATH=/bin"])).wait()  # PID 1's confinement

Everything unsafe (fork, unshare, mount) happens in a forked supervisor (``_init``), made by the
caller itself only when it has a single thread, else by a fork server (``launch``), so the
caller may be a threaded Jupyter kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .probe import HostCapabilities, probe_host
    from .process import RunningProcess, exec_in, run, start
    from .spec import ExecSpec, Isolation, OverlayMount, ProcessSpec, ResourceLimits

__all__ = [
    "ExecSpec", "HostCapabilities", "Isolation", "OverlayMount", "ProcessSpec", "ResourceLimits",
    "RunningProcess", "exec_in", "probe_host", "run", "start",
]

_HOMES = {"HostCapabilities": "probe", "probe_host": "probe", "RunningProcess": "process",
          "run": "process", "start": "process", "exec_in": "process", "ExecSpec": "spec",
          "Isolation": "spec", "OverlayMount": "spec",
          "ProcessSpec": "spec", "ResourceLimits": "spec"}


def __getattr__(name: str) -> Any:
    # Lazy (PEP 562): the helper process imports this package too, and every millisecond of its
    # start-up is a millisecond of every `docker run`.
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value
