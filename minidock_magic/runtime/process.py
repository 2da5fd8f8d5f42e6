"""Start containers and wait for them, safely from any process, threaded or not.

``start`` forks a supervisor (``launch``: directly when the caller has one thread, else through
the fork server), hands it the spec as JSON on a pipe, and blocks only until the user's program
is running — which is when the close-on-exec status pipe reaches EOF. Any setup failure arrives
on that pipe as one line and is raised here.
"""

from __future__ import annotations

import codecs
import fcntl
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
from .spec import ExecSpec, Isolation, ProcessSpec, checked

__all__ = ["RunningProcess", "Stream", "exec_in", "run", "start"]

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


def _copy_fd(source: int, target: int, *, close_target: bool) -> None:
    """Copy ``source`` to ``target`` until EOF (or until the reader of ``target`` is gone)."""
    try:
        while chunk := os.read(source, 65536):
            view = memoryview(chunk)
            while view:
                view = view[os.write(target, view):]
    except OSError:
        pass  # the container or the caller hung up: nothing more to copy
    finally:
        os.close(source)
        if close_target:
            os.close(target)


def same_output(stdout: Stream, stderr: Stream) -> bool:
    """Whether the caller wants both streams in one place (``STDOUT``, or the very same file or
    fd, ``DEVNULL`` included): then the container gets one pipe for both, so the order it wrote
    them in is kept.

    >>> same_output(None, subprocess.STDOUT), same_output(7, 7), same_output(None, None)
    (True, True, False)
    >>> same_output(subprocess.DEVNULL, subprocess.DEVNULL)
    True
    """
    if stderr == subprocess.STDOUT:
        return True
    if stderr is None or stderr == subprocess.PIPE:
        return False
    return stderr is stdout or (isinstance(stderr, int) and stderr == stdout)


class _Stdio:
    """The container's three fds, and the engine's ends of the pipes made for them.

    The container never gets one of the caller's own descriptors: a file or terminal it got
    could be reopened through /proc/self/fd/N for writing (``echo X > /proc/self/fd/0`` would
    rewrite the file the caller redirected from). It gets pipes, which the engine pumps —
    /dev/null is the one exception, as there is nothing to reach through it.
    """

    def __init__(self, stdin: Stream, stdout: Stream, stderr: Stream) -> None:
        self._opened: list[int] = []  # our copies, closed once the supervisor has its own
        self.readers: list[IO[bytes] | None] = [None, None]  # PIPE: what the caller reads
        self.pumps: list[threading.Thread] = []  # output: joined when the container ends
        self.feeders: list[threading.Thread] = []  # input: may block on the caller's stdin
        self._unstarted: list[int] = []  # fds the threads own once started
        try:
            if stdin == subprocess.PIPE:
                raise InvalidArgument("a container's stdin can be a file, an fd or DEVNULL, "
                                      "not PIPE")
            out = self._output(stdout, 1, 0)
            err = out if same_output(stdout, stderr) else self._output(stderr, 2, 1)
            self.fds = (self._input(stdin), out, err)
        except BaseException:
            self.close()
            self.close_readers()
            raise

    def _devnull(self) -> int:
        fd = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self._opened.append(fd)
        return fd

    @staticmethod
    def _usable(fd: int) -> bool:
        try:
            os.fstat(fd)
            return True
        except OSError:  # the caller has no such stream (a daemon): give the container none
            return False

    def _input(self, target: Stream) -> int:
        if target == subprocess.DEVNULL:
            return self._devnull()
        fd = 0 if target is None else target if isinstance(target, int) else int(target.fileno())
        if not self._usable(fd):
            return self._devnull()
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        self._opened.append(read_end)
        # Its own copy of the caller's fd, so the caller may close theirs at any time.
        source = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
        self._unstarted += [source, write_end]
        self.feeders.append(threading.Thread(target=_copy_fd, args=(source, write_end),
                                             kwargs={"close_target": True}, daemon=True))
        return read_end

    def _output(self, target: Stream, default: int, index: int) -> int:
        if target == subprocess.DEVNULL:
            return self._devnull()
        fd: int | None = None
        if target is None:
            fd = default
        elif isinstance(target, int) and target >= 0:
            fd = target
        elif target != subprocess.PIPE:
            try:
                fd = int(target.fileno())
            except (AttributeError, OSError, io.UnsupportedOperation):
                pass  # no real fd (a notebook's stream): a pump thread writes to it
        if fd is not None and not self._usable(fd):
            return self._devnull()
        read_end, write_end = os.pipe2(os.O_CLOEXEC)
        self._opened.append(write_end)
        if fd is not None:
            self._unstarted.append(read_end)
            if hasattr(target, "flush"):
                target.flush()  # what the caller buffered comes first
            self.pumps.append(threading.Thread(target=_copy_fd, args=(read_end, fd),
                                               kwargs={"close_target": False}, daemon=True))
            return write_end
        reader = os.fdopen(read_end, "rb")
        if target == subprocess.PIPE:
            self.readers[index] = reader
        else:
            self.pumps.append(threading.Thread(target=_pump, args=(reader, target), daemon=True))
        return write_end

    def start(self) -> None:
        self._unstarted = []
        for thread in (*self.pumps, *self.feeders):
            thread.start()

    def join_outputs(self) -> None:
        for pump in self.pumps:
            if pump.ident is not None:  # started
                pump.join()

    def close(self) -> None:
        """Drop our copies of the container's ends (its pipes then end when it does)."""
        for fd in self._opened:
            os.close(fd)
        self._opened = []

    def close_readers(self) -> None:
        """On failure before ``start``: everything the caller and the threads would have read."""
        for fd in self._unstarted:
            os.close(fd)
        self._unstarted = []
        for reader in self.readers:
            if reader is not None:
                reader.close()


class RunningProcess:
    """A started container. ``pid`` is the host pid of its PID 1 (proot's pid under proot)."""

    def __init__(self, supervisor: Supervisor, pid: int, isolation: Isolation,
                 cgroup_dirs: list[Path], stdio: _Stdio) -> None:
        self._supervisor, self.pid, self.isolation = supervisor, pid, isolation
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
    cgroup_dirs = cgroups.create(spec.limits, f"{cgroups.PREFIX}{os.urandom(6).hex()}") \
        if spec.limits else []
    payload = {"spec": spec.to_dict(), "isolation": isolation.value,
               "cgroups": [str(d) for d in cgroup_dirs]}
    from ._spare import shape_of
    return _launched(payload, isolation, cgroup_dirs, (stdin, stdout, stderr),
                     new_session=not spec.tty,
                     shape=shape_of(isolation, spec.network, bool(cgroup_dirs)))


def exec_in(spec: ExecSpec, *, stdout: Stream = None, stderr: Stream = None,
            stdin: Stream = None) -> RunningProcess:
    """Start ``spec.argv`` inside the running container whose PID 1 is ``spec.pid``, with
    PID 1's namespaces, cgroups and confinement; return once it runs (``enter``)."""
    if not spec.argv or not spec.argv[0]:
        raise InvalidArgument("exec needs a command")
    if stdin is None:
        stdin = subprocess.DEVNULL
    return _launched({"exec": spec.to_dict()}, Isolation.NAMESPACES, [],
                     (stdin, stdout, stderr), new_session=True)


def _launched(payload: dict[str, Any], isolation: Isolation, cgroup_dirs: list[Path],
              streams: tuple[Stream, Stream, Stream], *, new_session: bool,
              shape: dict[str, str] | None = None) -> RunningProcess:
    """Fork a supervisor, hand it ``payload`` and wait until its program runs (or failed)."""
    try:
        stdio = _Stdio(*streams)
    except BaseException:
        cgroups.remove(cgroup_dirs)
        raise
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    payload_r, payload_w = os.pipe2(os.O_CLOEXEC)
    try:
        supervisor = launch(stdio.fds, status_w, payload_r, new_session=new_session, shape=shape)
    except BaseException:
        for fd in (status_r, payload_w):
            os.close(fd)
        stdio.close_readers()
        cgroups.remove(cgroup_dirs)
        raise
    finally:
        for fd in (status_w, payload_r):
            os.close(fd)
        stdio.close()
    stdio.start()
    _write_all(payload_w, json.dumps(payload).encode())
    try:
        messages = _status.read_all(status_r)
    finally:
        os.close(status_r)
    pids = [m["pid"] for m in messages if "pid" in m]
    errors = [m for m in messages if "error" in m]
    if errors or not pids:
        returncode = supervisor.wait()
        stdio.join_outputs()
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
