"""Fork a container's supervisor without ever forking a threaded process.

One child (``_init.become_supervisor``), two ways to make it:

- the caller has exactly one thread and starts its first container (the CLI, a detached
  container's shim): fork it directly, about a millisecond;
- otherwise (a Jupyter kernel, a test runner, a script that starts many): ask the fork server
  (``_forkserver``), spawned once per engine process and re-spawned if it died. Forking a
  threaded process and running Python in the child can deadlock on a lock another thread held,
  so this is the only safe way that avoids a fresh interpreter (~60 ms) per container. For a
  long-lived single-threaded engine it is the cheaper way too: the server's small image forks
  in a fraction of the time, and the engine's own memory is left alone — after each fork of
  the engine, both it and the child take a copy-on-write fault on every page either writes
  (a thousand or more each, several ms of CPU per container).

Either way the caller gets a ``Supervisor``: its pid, and ``poll``/``wait`` with ``Popen``'s
``returncode`` convention (negative: killed by that signal).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import Unavailable

#: The fork server writes a supervisor's wait status to its exit pipe in this form.
STATUS = struct.Struct("i")
#: What ``returncode`` says of a supervisor that ended after its fork server died, so nobody
#: could tell how: docker's "the engine failed".
LOST = 125

_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


def helper_command(module: str) -> list[str]:
    # -S skips site-packages processing (~40 ms of .pth files on a full environment): the helper
    # needs only the standard library and this package, which helper_env puts on the path.
    return [sys.executable, "-S", "-m", f"minidock_magic.runtime.{module}"]


def _binding_dirs() -> list[str]:
    """Where the libseccomp binding lives: ``-S`` leaves site-packages off the helper's path."""
    import importlib.util

    found = []
    for module in ("pyseccomp", "seccomp"):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            found.append(str(Path(spec.origin).parent))
    return found


def helper_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (_PACKAGE_PARENT, env.get("PYTHONPATH"), *_binding_dirs()) if p)
    return env


def _readable(fd: int, timeout: float | None) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))


class Supervisor:
    """A started supervisor. How it ended is learnt once, from any thread (a lock plays the
    part of ``Popen``'s waitpid lock: ``poll`` never blocks behind a ``wait``)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._lock = threading.Lock()

    def poll(self) -> int | None:
        if self.returncode is None and self._lock.acquire(blocking=False):
            try:
                self._collect(0)
            finally:
                self._lock.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """The returncode; ``TimeoutError`` if still running after ``timeout`` seconds."""
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            raise TimeoutError(f"supervisor {self.pid} still running after {timeout}s")
        try:
            if self.returncode is None:
                self._collect(timeout)
        finally:
            self._lock.release()
        if self.returncode is None:
            raise TimeoutError(f"supervisor {self.pid} still running after {timeout}s")
        return self.returncode

    def _collect(self, timeout: float | None) -> None:
        """Set ``returncode`` if the supervisor ends within ``timeout`` (None: wait for it)."""
        raise NotImplementedError


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except OSError:  # kernels before 5.3
        return None


class ForkedSupervisor(Supervisor):
    """Our own child: reaped with ``waitpid``, woken by a pidfd."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self._pidfd = _pidfd(pid)

    def _collect(self, timeout: float | None) -> None:
        if timeout is not None:
            if self._pidfd is not None:
                if not _readable(self._pidfd, timeout):
                    return
            else:  # poll with short sleeps
                deadline = time.monotonic() + timeout
                while os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
                    if time.monotonic() >= deadline:
                        return
                    time.sleep(0.005)
        _, wait_status = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(wait_status)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


class ServedSupervisor(Supervisor):
    """A child of the fork server, which reports its wait status on our exit pipe."""

    def __init__(self, pid: int, exit_fd: int) -> None:
        super().__init__(pid)
        self._exit_fd: int | None = exit_fd
        # If the server dies, the exit pipe says only that; the pidfd still says when the
        # supervisor ends (while it is unreaped its pid cannot be reused, so it is this one).
        self._pidfd = _pidfd(pid)

    def _collect(self, timeout: float | None) -> None:
        if self._exit_fd is not None:
            if not _readable(self._exit_fd, timeout):
                return
            data = os.read(self._exit_fd, STATUS.size)
            os.close(self._exit_fd)
            self._exit_fd = None
            if len(data) == STATUS.size:
                self._done(os.waitstatus_to_exitcode(STATUS.unpack(data)[0]))
                return
        if self._pidfd is None or _readable(self._pidfd, timeout):
            self._done(LOST)

    def _done(self, returncode: int) -> None:
        self.returncode = returncode
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None


class ForkServer:
    """The engine's end of one ``_forkserver`` process."""

    def __init__(self) -> None:
        import socket  # here: only threaded callers have a fork server; `minidock run` never does
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # Its own session: a terminal's Ctrl-C is for the engine, not for the server.
            self.process = subprocess.Popen(
                helper_command("_forkserver") + [str(theirs.fileno())], env=helper_env(),
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            ours.close()
            raise Unavailable(f"cannot start the runtime's fork server {sys.executable}: {exc}") \
                from None
        finally:
            theirs.close()
        self._sock = ours

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, fds: list[int], *, new_session: bool, shape: dict[str, str] | None) -> int:
        """Have the server start a supervisor with ``fds`` (a spare of ``shape``, if it has
        one: ``_spare``); its pid. ``OSError`` before the request went out (safe to retry),
        ``Unavailable`` after."""
        import socket  # imported by __init__ already
        request = {"new_session": new_session, "shape": shape}
        socket.send_fds(self._sock, [json.dumps(request).encode()], fds)
        reply = self._sock.recv(4096)
        if not reply:
            raise Unavailable("the runtime's fork server exited while starting a container")
        answer = json.loads(reply)
        if "error" in answer:
            raise Unavailable(f"the runtime's fork server cannot start a container: "
                              f"{answer['error']}")
        return int(answer["pid"])

    def close(self) -> None:
        self._sock.close()  # EOF: the server exits; supervisors it forked carry on
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


_server: ForkServer | None = None
_server_lock = threading.Lock()


def _via_server(fds: list[int], new_session: bool, shape: dict[str, str] | None) -> int:
    global _server
    with _server_lock:
        for attempt in range(2):
            if _server is None or not _server.alive():
                if _server is not None:
                    _server.close()
                _server = ForkServer()
            try:
                return _server.fork(fds, new_session=new_session, shape=shape)
            except OSError as exc:  # it died before our request reached it: a new one, once
                _server.close()
                _server = None
                if attempt:
                    raise Unavailable(f"the runtime's fork server is not answering: {exc}") \
                        from None
    raise AssertionError("unreachable")


def shutdown() -> None:
    """Stop this process's fork server, if any (running containers are not affected)."""
    global _server
    with _server_lock:
        if _server is not None:
            _server.close()
            _server = None


atexit.register(shutdown)  # reap the server rather than leave a zombie behind


def single_threaded() -> bool:
    """No other thread, Python's or native, that a fork could catch holding a lock."""
    if threading.active_count() != 1 or threading.current_thread() is not threading.main_thread():
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


#: Whether this process has forked a supervisor itself: only its first container is started so.
_forked_directly = False


def _fork_directly() -> bool:
    """A process with one thread forks its first supervisor itself (a CLI's one `run` would pay
    more for a fork server than it saves); one that starts a second is long-lived, and gets a
    fork server from then on."""
    return not _forked_directly and _server is None and single_threaded()


def launch(stdio: tuple[int, int, int], status_fd: int, payload_fd: int, *,
           new_session: bool, shape: dict[str, str] | None = None) -> Supervisor:
    """Fork a supervisor that will read its payload from ``payload_fd``, report on
    ``status_fd`` and give the container ``stdio``. The caller keeps (and closes) its fds.
    ``shape`` (``_spare.shape_of``) lets the fork server serve it with a spare."""
    global _forked_directly
    if _fork_directly():
        from ._init import become_supervisor

        _forked_directly = True
        pid = os.fork()
        if pid == 0:
            become_supervisor(stdio, status_fd, payload_fd, new_session=new_session)
        return ForkedSupervisor(pid)
    exit_r, exit_w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = _via_server([*stdio, status_fd, payload_fd, exit_w], new_session, shape)
    except BaseException:
        os.close(exit_r)
        raise
    finally:
        os.close(exit_w)
    return ServedSupervisor(pid, exit_r)
