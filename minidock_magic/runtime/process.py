"""Start containers and wait for them, safely from any process, threaded or not.

``start`` forks a supervisor (``launch``: directly when the caller has one thread, else through
the fork server), hands it the spec as JSON on a pipe, and blocks only until the user's program
is running — which is when the close-on-exec status pipe reaches EOF. Any setup failure arrives
on that pipe as one line and is raised here.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import signal as signals  # the module; `signal` is a method name below
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Union

from ..errors import InvalidArgument, MinidockError, Unavailable
from . import _status, cgroups
from .launch import Supervisor, launch
from .probe import probe_host
from .spec import Isolation, ProcessSpec, checked

__all__ = ["RunningProcess", "Stream", "run", "start"]

#: Where the container's output goes: an fd, a binary file object (with or without a real
#: ``fileno``), ``subprocess.PIPE``/``DEVNULL``/``STDOUT``, or None to inherit the caller's.
Stream = Union[int, IO[bytes], Any, None]


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


class _Stdio:
    """The container's three fds, and the engine's ends of any pipes made for them."""

    def __init__(self, stdin: Stream, stdout: Stream, stderr: Stream) -> None:
        self._opened: list[int] = []  # our copies, closed once the supervisor has its own
        self.readers: list[IO[bytes] | None] = [None, None]  # PIPE: what the caller reads
        self.pumps: list[threading.Thread] = []
        try:
            if stdin == subprocess.PIPE:
                raise InvalidArgument("a container's stdin can be a file, an fd or DEVNULL, "
                                      "not PIPE")
            out = self._output(stdout, 1, 0)
            err = out if stderr == subprocess.STDOUT else self._output(stderr, 2, 1)
            self.fds = (self._input(stdin), out, err)
        except BaseException:
            self.close()
            for reader in self.readers:
                if reader is not None:
                    reader.close()
            raise

    def _devnull(self) -> int:
        fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self._opened.append(fd)
        return fd

    def _inherited(self, fd: int) -> int:
        try:
            os.fstat(fd)
            return fd
        except OSError:  # the caller has no such stream (a daemon): give the container none
            return self._devnull()

    def _input(self, target: Stream) -> int:
        if target is None:
            return self._inherited(0)
        if target == subprocess.DEVNULL:
            return self._devnull()
        if isinstance(target, int):
            return target
        return int(target.fileno())

    def _output(self, target: Stream, default: int, index: int) -> int:
        if target is None:
            return self._inherited(default)
        if target == subprocess.DEVNULL:
            return self._devnull()
        if isinstance(target, int) and target >= 0:
            return target
        if target != subprocess.PIPE:
            try:
                return int(target.fileno())
            except (AttributeError, OSError, io.UnsupportedOperation):
                pass  # no real fd (a notebook's stream): a pipe and a pump thread
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        self._opened.append(write_end)
        reader = os.fdopen(read_end, "rb")
        if target == subprocess.PIPE:
            self.readers[index] = reader
        else:
            self.pumps.append(threading.Thread(target=_pump, args=(reader, target), daemon=True))
        return write_end

    def close(self) -> None:
        """Drop our copies of the container's ends (its pipes then end when it does)."""
        for fd in self._opened:
            os.close(fd)
        self._opened = []


class RunningProcess:
    """A started container. ``pid`` is the host pid of its PID 1 (proot's pid under proot)."""

    def __init__(self, supervisor: Supervisor, pid: int, isolation: Isolation,
                 cgroup_dirs: list[Path], stdio: _Stdio) -> None:
        self._supervisor, self.pid, self.isolation = supervisor, pid, isolation
        # proot reports a program killed by a signal as status 255; the signal we sent says which.
        self._sent: int | None = None
        self._cgroup_dirs, self._pumps = cgroup_dirs, stdio.pumps
        self.stdout, self.stderr = stdio.readers
        self._lock = threading.Lock()
        self._status: int | None = None
        try:  # a pidfd can never signal a recycled pid
            self._pidfd: int | None = os.pidfd_open(pid)
        except OSError:
            self._pidfd = None

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
        returncode = self._supervisor.poll()
        return None if returncode is None else self._finish(returncode)

    def wait(self, timeout: float | None = None) -> int:
        """The exit status: the program's code, 128+signal if killed, 126/127 if it never ran."""
        try:
            returncode = self._supervisor.wait(timeout)
        except TimeoutError:
            raise TimeoutError(f"container {self.pid} still running after {timeout}s") from None
        return self._finish(returncode)

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the container's PID 1; nothing if it has already exited."""
        with self._lock:
            if self._status is not None or self._supervisor.poll() is not None:
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
        pass  # the supervisor died early; its status tells why
    finally:
        os.close(fd)


def _isolation(isolation: Isolation | str | None) -> Isolation:
    if isolation is None:
        isolation = probe_host().default_isolation()
        if isolation is None:
            raise Unavailable("this host allows neither namespaces nor proot, so a container "
                              "cannot be isolated: install proot or enable user namespaces")
    return Isolation(isolation)


def start(spec: ProcessSpec, *, isolation: Isolation | str | None = None,
          stdout: Stream = None, stderr: Stream = None, stdin: Stream = None) -> RunningProcess:
    """Start ``spec`` isolated and return once its program runs. ``stdin`` overrides
    ``spec.stdin`` (default: the caller's stdin if ``spec.stdin`` else /dev/null)."""
    spec = checked(spec)
    isolation = _isolation(isolation)
    if stdin is None and not spec.stdin:
        stdin = subprocess.DEVNULL
    # os.urandom, not uuid: importing uuid (and the platform module it pulls in) costs every
    # `minidock run` ~2 ms, for a name only containers with limits need.
    cgroup_dirs = cgroups.create(spec.limits, f"minidock-{os.urandom(6).hex()}") \
        if spec.limits else []
    try:
        stdio = _Stdio(stdin, stdout, stderr)
    except BaseException:
        cgroups.remove(cgroup_dirs)
        raise
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    payload_r, payload_w = os.pipe2(os.O_CLOEXEC)
    try:
        supervisor = launch(stdio.fds, status_w, payload_r, new_session=not spec.tty)
    except BaseException:
        for fd in (status_r, payload_w):
            os.close(fd)
        for reader in stdio.readers:
            if reader is not None:
                reader.close()
        cgroups.remove(cgroup_dirs)
        raise
    finally:
        for fd in (status_w, payload_r):
            os.close(fd)
        stdio.close()
    for pump in stdio.pumps:
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
        returncode = supervisor.wait()
        for pump in stdio.pumps:
            pump.join()
        cgroups.remove(cgroup_dirs)
        if errors:
            raise _status.as_error(errors[0])
        raise MinidockError(f"the runtime's supervisor exited with status {returncode} before "
                            "the container started (see its stderr)")
    return RunningProcess(supervisor, pids[0], isolation, cgroup_dirs, stdio)


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
