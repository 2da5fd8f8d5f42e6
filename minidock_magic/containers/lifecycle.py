"""Container lifecycle: create, start (attached or through a shim), stop, kill, rm, wait.

A container is a record, an active snapshot (its writable layer, 可写层) over the image's
committed snapshots, and — while running — a process the runtime isolated. Detached containers
are owned by a small shim process (``containers.shim``) in its own session, so they outlive the
notebook kernel or CLI that started them; ``reconcile`` notices when an owner died.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import Conflict, MinidockError
from ..runtime.spec import ProcessSpec, ResourceLimits
from . import ports
from .ports import Forwarder
from .publish import PortBinding
from .record import (
    ContainerConfig,
    ContainerState,
    ContainerStore,
    is_alive,
    not_zombie,
    now,
    process_start_time,
)

STOP_POLL = 0.02


def process_spec(config: ContainerConfig, mounts: Any, *, stdin: bool = False,
                 network: str | None = None) -> ProcessSpec:
    limits = ResourceLimits(**config.limits) if config.limits else None
    overlay = mounts.overlay
    if overlay is not None and config.auto_remove:
        # Its layer goes when it ends: no sync of the host's filesystem for it (OverlayMount).
        overlay = replace(overlay, volatile=True)
    return ProcessSpec(rootfs=mounts.rootfs, overlay=overlay, argv=config.argv,
                       env=config.env, cwd=config.cwd, user=config.user,
                       hostname=config.hostname or config.short_id,
                       network=network or config.network, stdin=stdin, limits=limits,
                       seccomp=config.seccomp)


class Lifecycle:
    """The state machine, given the record store and a way to get a container's mounts."""

    def __init__(self, store: ContainerStore, mounts_of: Callable[[ContainerConfig], Any],
                 home: Path) -> None:
        self.store = store
        self.mounts_of = mounts_of
        self.home = home

    # -- state ---------------------------------------------------------------------------------
    def state(self, config: ContainerConfig) -> ContainerState:
        """The recorded state, corrected if the process that owned a running container died."""
        state = self.store.state(config.id)
        if state.status == "running" and not _owner_alive(state):
            if not is_alive(state.pid, state.pid_start):
                state = self.store.update_state(
                    config.id, status="exited", exit_code=state.exit_code
                    if state.exit_code is not None else 137, finished_at=now(),
                    error="the process that ran it went away", pid=0, ports=[])
            elif state.ports:  # its forwarder died with its owner: nothing is published now
                state = self.store.update_state(config.id, ports=[])
        return state

    def running(self, config: ContainerConfig) -> bool:
        return self.state(config).status == "running"

    # -- start ---------------------------------------------------------------------------------
    def start_detached(self, config: ContainerConfig) -> ContainerState:
        """Hand the container to a shim in its own session and return once it runs (or failed)."""
        if self.running(config):
            return self.store.state(config.id)
        ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
        try:
            subprocess.Popen(
                [sys.executable, "-m", "minidock_magic.containers.shim", str(self.home), config.id,
                 str(ready_w)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(ready_w,), start_new_session=True, env=_shim_env())
        finally:
            os.close(ready_w)
        with os.fdopen(ready_r, "rb") as ready:
            message = ready.read()
        report = json.loads(message) if message else {"error": "the shim died before starting "
                                                               "the container"}
        if "error" in report:
            self.store.update_state(config.id, status="exited", exit_code=125, error=report["error"],
                                    finished_at=now())
            raise MinidockError(report["error"])
        return self.store.state(config.id)

    def run_attached(self, config: ContainerConfig, *, stdout: Any, stderr: Any,
                     stdin: Any = None, isolation: str | None = None) -> int:
        """Run in this process, output streamed to the caller and copied to the log."""
        if self.running(config):
            raise Conflict(f"container {config.name} is already running")
        with self.store.open_log(config.id) as log:
            from ..runtime.process import same_output
            out = Tee(stdout, log)
            # Both streams bound for one place (DEVNULL too) share one Tee, which the runtime
            # then gives the container as one pipe: the order of its writes is kept, in the log
            # too, and one pump thread does the copying instead of two.
            err = out if same_output(stdout, stderr) else Tee(stderr, log)
            process, forwarder = self.launch(config, isolation=config.isolation or isolation,
                                             stdout=out, stderr=err, stdin=stdin)
            try:
                code = process.wait()
            except BaseException:
                process.stop(timeout=2.0)
                code = 130
                raise
            finally:
                if forwarder is not None:
                    forwarder.stop()
                self.mark_exited(config, code)
        return code

    def launch(self, config: ContainerConfig, *, isolation: str | None, stdout: Any,
               stderr: Any, stdin: Any = None) -> tuple[Any, Forwarder | None]:
        """Start the container's process, its published ports forwarded, and record it as
        running by the calling process (the shim, or the one running it attached)."""
        from ..runtime import start
        opened, shown = self._bind_published(config, isolation)
        try:
            network = self._network_of(config)
            process = start(process_spec(config, self.mounts_of(config), stdin=stdin is not None,
                                         network=network),
                            isolation=isolation, stdout=stdout, stderr=stderr, stdin=stdin)
        except BaseException:
            ports.close(opened)
            raise
        forwarder = None
        if opened:
            pid_start = process_start_time(process.pid)
            try:
                forwarder = ports.Forwarder.start(opened, process.pid, pid_start)
            except MinidockError:
                if is_alive(process.pid, pid_start):
                    process.stop(timeout=2.0)
                    raise
                shown = []  # it was over before its ports could be: nothing to forward to
            except BaseException:
                process.stop(timeout=2.0)
                raise
        self.mark_running(config, process.pid, shown)
        if forwarder is not None:
            forwarder.when_lost(lambda: self.store.update_state(config.id, ports=[]))
        return process, forwarder

    def _bind_published(self, config: ContainerConfig, isolation: str | None,
                        ) -> tuple[list[Any], list[PortBinding]]:
        bindings = [PortBinding.from_json(p) for p in config.ports]
        if not bindings:
            return [], []
        shared = shares_host_network(config.network, isolation or default_isolation())
        if shared:
            return [], ports.check_shared_network(bindings, shared)
        opened = ports.listen_all(bindings)
        return opened, [binding for _, binding in opened]

    def _network_of(self, config: ContainerConfig) -> str:
        """What the runtime gets: ``container:PID:START`` for a joined network namespace."""
        if not config.network.startswith("container:"):
            return config.network
        other = self.store.config(config.network.partition(":")[2])
        state = self.state(other)
        if state.status != "running":
            raise Conflict(f"cannot join the network of a non running container: {other.name}")
        return f"container:{state.pid}:{state.pid_start}"

    def mark_running(self, config: ContainerConfig, pid: int,
                     published: Sequence[PortBinding] = ()) -> None:
        previous = self.store.state(config.id)
        self.store.save_state(config.id, ContainerState(
            status="running", pid=pid, pid_start=process_start_time(pid), owner_pid=os.getpid(),
            started_at=now(), restart_count=previous.restart_count + (previous.status != "created"),
            ports=[binding.to_json() for binding in published]))

    def mark_exited(self, config: ContainerConfig, code: int) -> None:
        self.store.update_state(config.id, status="exited", exit_code=code, finished_at=now(), pid=0,
                                ports=[])

    # -- stop ----------------------------------------------------------------------------------
    def kill(self, config: ContainerConfig, sig: int = signal.SIGKILL) -> None:
        state = self.state(config)
        if state.status != "running":
            raise Conflict(f"Container {config.short_id} is not running")
        try:
            os.kill(state.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, config: ContainerConfig, timeout: float = 10.0) -> None:
        """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL (docker stop)."""
        if not self.running(config):
            return
        self.kill(config, signal.SIGTERM)
        if not self.wait_exit(config, timeout):
            try:
                self.kill(config, signal.SIGKILL)
            except Conflict:
                return
            self.wait_exit(config, 10.0)

    def wait_exit(self, config: ContainerConfig, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state(config).status == "running":
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(STOP_POLL)
        return True

    def wait(self, config: ContainerConfig) -> int:
        state = self.state(config)
        if state.status == "created":
            raise Conflict(f"container {config.name} has not been started")
        self.wait_exit(config, None)
        code = self.store.state(config.id).exit_code
        return 0 if code is None else code


class Tee:
    """Write container output to the caller's stream and the container's log at once. The
    caller's stream is a file object, an fd, ``DEVNULL`` (the log only) or None (the log only)."""

    def __init__(self, target: Any, log: BinaryIO) -> None:
        self.target, self.log = target, log

    def write(self, data: bytes) -> int:
        self.log.write(data)
        self.log.flush()
        if isinstance(self.target, int):
            if self.target >= 0:
                _write_fd(self.target, data)
        elif self.target is not None:
            buffer = getattr(self.target, "buffer", None)
            if buffer is not None:
                buffer.write(data)
                buffer.flush()
            else:
                try:
                    self.target.write(data)
                except TypeError:
                    self.target.write(data.decode(errors="replace"))
            if hasattr(self.target, "flush"):
                self.target.flush()
        return len(data)

    def flush(self) -> None:
        self.log.flush()


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def shares_host_network(network: str, isolation: str) -> str:
    """Why a container's ports are the host's own (a reason to show), or "" if they are not."""
    if network == "host":
        return "the container uses the host's network (--network host)"
    if isolation == "proot":
        return "under proot the container shares the host's network (proot has no namespaces)"
    return ""


def default_isolation() -> str:
    from ..runtime import probe_host
    return str(probe_host().default_isolation())


def _owner_alive(state: ContainerState) -> bool:
    if state.owner_pid <= 0:
        return False
    try:
        os.kill(state.owner_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not_zombie(state.owner_pid)  # a killed shim its starter has not reaped yet


def _shim_env() -> dict[str, str]:
    package_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    return env

