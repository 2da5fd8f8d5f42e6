"""Start containers and wait for them, safely from any process, threaded or not.

The engine never forks itself: ``start`` spawns a fresh interpreter running ``_init`` (spawning
is thread-safe; ``fork`` plus Python code in the child is not), hands it the spec as JSON on a
pipe, and blocks only until the user's program is running — which is when the close-on-exec
status pipe reaches EOF. Any setup failure arrives on that pipe as one line and is raised here.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import signal as signals  # the module; `signal` is a method name below
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Union

from ..errors import MinidockError, Unavailable
from . import _status, cgroups
from .probe import probe_host
from .spec import Isolation, ProcessSpec, checked

#: Where the container's output goes: an fd, a binary file object (with or without a real
#: ``fileno``), ``subprocess.PIPE``/``DEVNULL``, or None to inherit the caller's.
Stream = Union[int, IO[bytes], Any, None]

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


def helper_command(module: str) -> list[str]:
    # -S skips site-packages processing (~40 ms of .pth files on a full environment): the helper
    # needs only the standard library and this package, which helper_env puts on the path.
    return [sys.executable, "-S", "-m", f"minidock_magic.runtime.{module}"]


def helper_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    return env


def _pump(source: IO[bytes], target: Any) -> None:
    """Copy a pipe into a file object that has no usable fd (a notebook's stream, BytesIO)."""
    text = isinstance(target, io.TextIOBase)
    # Incremental, so a UTF-8 character split between two reads still arrives whole.
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := source.read1(65536):  # type: ignore[attr-defined]
        target.write(decoder.decode(chunk) if text else chunk)
        if hasattr(target, "flush"):
            target.flush()
    if text:
        target.write(decoder.decode(b"", final=True))
    source.close()


def _stdio(target: Stream) -> tuple[Any, Any]:
    """(what Popen gets, what a pump thread must copy into, if any)."""
    if target is None or isinstance(target, int):
        return target, None
    try:
        target.fileno()
        return target, None
    except (AttributeError, OSError, io.UnsupportedOperation):
        return subprocess.PIPE, target


class RunningProcess:
    """A started container. ``pid`` is the host pid of its PID 1 (proot's pid under proot)."""

    def __init__(self, popen: subprocess.Popen[bytes], pid: int, isolation: Isolation,
                 cgroup_dirs: list[Path], pumps: list[threading.Thread]) -> None:
        self._popen, self.pid, self.isolation = popen, pid, isolation
        # proot reports a program killed by a signal as status 255; the signal we sent says which.
        self._sent: int | None = None
        self._cgroup_dirs, self._pumps = cgroup_dirs, pumps
        self._lock = threading.Lock()
        self._status: int | None = None
        try:  # a pidfd can never signal a recycled pid
            self._pidfd: int | None = os.pidfd_open(pid)
        except OSError:
            self._pidfd = None

    @property
    def stdout(self) -> IO[bytes] | None:
        return None if self._pumps else self._popen.stdout

    @property
    def stderr(self) -> IO[bytes] | None:
        return None if self._pumps else self._popen.stderr

    def _finish(self, returncode: int) -> int:
        with self._lock:
            if self._status is None:
                for pump in self._pumps:
                    pump.join()
                cgroups.remove(self._cgroup_dirs)
                if self._pidfd is not None:
                    os.close(self._pidfd)
                    self._pidfd = None
                self._status = 128 - returncode if returncode < 0 else returncode
                if self.isolation is Isolation.PROOT and self._status == 255 and self._sent:
                    self._status = 128 + self._sent
            return self._status

    def poll(self) -> int | None:
        returncode = self._popen.poll()
        return None if returncode is None else self._finish(returncode)

    def wait(self, timeout: float | None = None) -> int:
        """The exit status: the program's code, 128+signal if killed, 126/127 if it never ran."""
        try:
            returncode = self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"container {self.pid} still running after {timeout}s") from None
        return self._finish(returncode)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the container's PID 1; nothing if it has already exited."""
        with self._lock:
            if self._status is not None or self._popen.poll() is not None:
                return
            self._sent = sig
            try:
                if self._pidfd is not None:
                    signals.pidfd_send_signal(self._pidfd, sig)
                else:
                    os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 10.0, sig: int = signals.SIGTERM) -> int:
        """``docker stop``: ``sig``, up to ``timeout`` seconds' grace, then SIGKILL."""
        try:
            self.signal(sig)
            return self.wait(timeout)
        except TimeoutError:
            pass
        finally:
            if self.poll() is None:
                self.signal(signals.SIGKILL)
        return self.wait()


def _write_all(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass  # the helper died early; its status tells why
    finally:
        os.close(fd)


def start(spec: ProcessSpec, *, isolation: Isolation | str | None = None,
          stdout: Stream = None, stderr: Stream = None, stdin: Stream = None) -> RunningProcess:
    """Start ``spec`` isolated and return once its program runs. ``stdin`` overrides
    ``spec.stdin`` (default: the caller's stdin if ``spec.stdin`` else /dev/null)."""
    spec = checked(spec)
    if isolation is None:
        isolation = probe_host().default_isolation()
        if isolation is None:
            raise Unavailable("this host allows neither namespaces nor proot, so a container "
                              "cannot be isolated: install proot or enable user namespaces")
    isolation = Isolation(isolation)
    if stdin is None and not spec.stdin:
        stdin = subprocess.DEVNULL
    cgroup_dirs = cgroups.create(spec.limits, f"minidock-{uuid.uuid4().hex[:12]}") \
        if spec.limits else []
    (out_arg, out_target), (err_arg, err_target) = _stdio(stdout), _stdio(stderr)
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    payload_r, payload_w = os.pipe2(os.O_CLOEXEC)
    try:
        popen = subprocess.Popen(
            helper_command("_init") + [str(status_w), str(payload_r)], env=helper_env(),
            stdin=stdin, stdout=out_arg, stderr=err_arg, pass_fds=(status_w, payload_r),
            start_new_session=not spec.tty)
    except OSError as exc:
        for fd in (status_r, payload_w):
            os.close(fd)
        cgroups.remove(cgroup_dirs)
        raise Unavailable(f"cannot start the runtime helper {sys.executable}: {exc}") from None
    finally:
        os.close(status_w)
        os.close(payload_r)
    pumps = [threading.Thread(target=_pump, args=(pipe, target), daemon=True)
             for pipe, target in ((popen.stdout, out_target), (popen.stderr, err_target))
             if target is not None]
    for pump in pumps:
        pump.start()
    payload = {"spec": spec.to_dict(), "isolation": isolation.value,
               "cgroups": [str(d) for d in cgroup_dirs]}
    _write_all(payload_w, json.dumps(payload).encode())
    try:
        messages = _status.read_all(status_r)
    finally:
        os.close(status_r)
    pids = [m["pid"] for m in messages if "pid" in m]
    errors = [m for m in messages if "error" in m]
    if errors or not pids:
        returncode = popen.wait()
        for pump in pumps:
            pump.join()
        cgroups.remove(cgroup_dirs)
        if errors:
            raise _status.as_error(errors[0])
        raise MinidockError(f"the runtime helper exited with status {returncode} before the "
                            "container started (see its stderr)")
    return RunningProcess(popen, pids[0], isolation, cgroup_dirs, pumps)


def run(spec: ProcessSpec, *, isolation: Isolation | str | None = None, stdout: Stream = None,
        stderr: Stream = None, stdin: Stream = None,
        on_start: Callable[[RunningProcess], object] | None = None) -> int:
    """Run ``spec`` to completion; docker's exit status (code, 128+signal, 126, 127)."""
    process = start(spec, isolation=isolation, stdout=stdout, stderr=stderr, stdin=stdin)
    try:
        if on_start is not None:
            on_start(process)
        return process.wait()
    except BaseException:  # Ctrl-C in a notebook: pass it on, then make sure it is gone
        process.stop(timeout=2.0, sig=signals.SIGINT)
        raise
