"""The fallback backend: ``proot`` (ptrace path translation) where the host refuses namespaces.

proot gives a changed root, bind mounts by path translation and fake root ids, and nothing
else: no PID, network, UTS or IPC isolation, no overlayfs, no read-only root. The engine says so
(``HostCapabilities.describe``) instead of pretending; what proot cannot do at all (overlay,
read-only) is refused with ``Unsupported``. It is a teaching fallback, not a security boundary.

Runs in the supervisor (see ``_init``), which supervises proot like it supervises a
namespaced container, so the engine sees the same protocol either way.
"""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import Unavailable, Unsupported
from ..hostbin import static_busybox
from . import _status, command, etcfiles
from .confine import reset_signals, supervise
from .rootfs import DEV_LINKS, DEVICES
from .safepath import ensure_dir_in_root, resolve_in_root
from .spec import ProcessSpec
from .users import resolve_user


def _read_in_root(root: Path, path: str) -> str:
    try:
        return resolve_in_root(root, path).read_text()
    except OSError:
        return ""


def proot_argv(proot: str, spec: ProcessSpec, exe: str, binds: dict[str, str], *,
               fake_ids: str | None, exit_fd: int | None = None) -> list[str]:
    """The proot command line for ``spec``; ``binds`` maps host paths to guest paths. With
    ``exit_fd`` the program runs under the waiter, which writes its exit status there.

    >>> proot_argv("/usr/bin/proot", ProcessSpec(Path("/r"), ["sh", "-c", "x"], []), "/bin/sh",
    ...            {"/t/hosts": "/etc/hosts"}, fake_ids="0:0")  # doctest: +NORMALIZE_WHITESPACE
    ['/usr/bin/proot', '-v', '-1', '-r', '/r', '-w', '/', '-b', '/proc',
     '-b', '/t/hosts:/etc/hosts', '-0', '/bin/sh', '-c', 'x']
    """
    argv = [proot, "-v", "-1", "-r", str(spec.rootfs), "-w", spec.cwd, "-b", "/proc"]
    for host_path, guest in binds.items():
        argv += ["-b", host_path if host_path == guest else f"{host_path}:{guest}"]
    if fake_ids == "0:0":
        argv.append("-0")
    elif fake_ids is not None:
        argv += ["-i", fake_ids]
    # proot's exec takes argv[0] as the program; multi-call binaries like busybox look at its
    # basename, which the resolved path keeps.
    program = [exe, *spec.argv[1:]]
    if exit_fd is not None:
        program = [WAITER, "sh", "-c", waiter_script(exit_fd), "minidock-waiter", *program]
    return argv + program


def _dev_binds(tmp: Path) -> dict[str, str]:
    """A minimal /dev like the namespace backend's, instead of all of the host's devices."""
    dev = tmp / "dev"
    dev.mkdir(mode=0o755)
    (dev / "shm").mkdir(mode=0o1777)
    (dev / "shm").chmod(0o1777)  # mkdir's mode is cut by the umask
    for name, target in DEV_LINKS.items():
        (dev / name).symlink_to(target)
    binds = {str(dev): "/dev"}
    binds.update({f"/dev/{name}": f"/dev/{name}" for name in (*DEVICES, "pts")
                  if os.path.exists(f"/dev/{name}")})
    return binds


def _image(pid: int) -> tuple[str, bytes]:
    """What ``pid`` runs: its executable (proot's loader, once proot runs a program) and its
    command line (a forked child keeps its parent's until it execs)."""
    return os.readlink(f"/proc/{pid}/exe"), Path(f"/proc/{pid}/cmdline").read_bytes()


def _child_that_ran(parent: int, finished: Callable[[], bool],
                    patience: float = 2.0) -> int | None:
    """``parent``'s child once it has exec'd its program (runs something else than
    ``parent``), or None once ``finished()`` says the program already ended: signals must go to
    the program, as a namespaced start returns once the program runs, and a ``stop`` right
    after ``start`` must not kill a half-born child that never got to run (and log) anything."""
    deadline = time.monotonic() + patience
    try:
        parents = _image(parent)
    except OSError:
        return None
    while time.monotonic() < deadline and not finished():
        try:
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            if children and _image(int(children[0])) != parents:
                return int(children[0])
        except OSError:
            return None
        time.sleep(0.001)
    return None


def _exited(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# -- the waiter: the program's exit status as docker reports it ---------------------------------
# proot returns the status of the *last* traced process that exited normally: a program killed
# by a signal gives 255 (or a child's 0 if one outlived it), never docker's 128+signal. So the
# program runs under a waiter of ours, a copy of the host's static busybox in this run's own
# /dev: a subshell execs the program (so it is the waiter's child, and signals go straight to
# it) and the waiter writes the wait status, 128+signal if killed, into a pipe it inherited
# (not a file: the program, the same user under proot, could swap a file for a FIFO and hang
# it). Its own stderr, where a shell reports "Killed", goes to /dev/null; the program keeps the
# real one (saved on fd 3) and neither fd 3 nor the pipe. Caught, not ignored, signals: an
# ignored disposition would survive the exec into the program.
WAITER = "/dev/.minidock/busybox"  # in the container's own /dev (a directory of this run's)


def waiter_script(exit_fd: int) -> str:
    """
    >>> waiter_script(9)
    'trap : INT QUIT TERM HUP; exec 3>&2 2>/dev/null; ( exec "$@" 2>&3 3>&- 9>&- ); echo "$?" >&9'
    """
    return (f'trap : INT QUIT TERM HUP; exec 3>&2 2>/dev/null; '
            f'( exec "$@" 2>&3 3>&- {exit_fd}>&- ); echo "$?" >&{exit_fd}')


def _install_waiter(dev: Path) -> bool:
    """Copy a static busybox to ``WAITER`` under ``dev`` (a copy: a container running as real
    root could write through a bind of the host's own); False where the host has none (then
    proot's own status is all there is)."""
    busybox = static_busybox()
    if busybox is None:
        return False
    target = dev / Path(WAITER).relative_to("/dev")
    target.parent.mkdir(mode=0o755)
    shutil.copyfile(busybox, target)
    target.chmod(0o755)
    return True


def _exit_pipe() -> tuple[int, int]:
    """A pipe whose write end is fd 10 or above: the waiter's script uses fds 0-3 itself."""
    read, write = os.pipe2(os.O_CLOEXEC)
    high = fcntl.fcntl(write, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(write)
    return read, high


def _ready(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def _waited_status(fd: int | None) -> int | None:
    """What the waiter wrote (nothing if it was killed itself, or there was none)."""
    if fd is None or not _ready(fd):
        return None
    try:
        code = int(os.read(fd, 16))
    except (OSError, ValueError):
        return None
    return code if 0 <= code <= 255 else None


def run_proot(spec: ProcessSpec, status_fd: int) -> int:
    proot = shutil.which("proot")
    if proot is None:
        raise Unavailable("proot is not installed (apt-get install proot), and it is the only "
                          "isolation left on this host")
    if spec.overlay is not None:
        raise Unsupported("proot cannot mount overlayfs: give it a prepared (copied) rootfs")
    if spec.read_only:
        raise Unsupported("proot cannot make the rootfs read-only")
    root = spec.rootfs
    user = resolve_user(spec.user, _read_in_root(root, "/etc/passwd"),
                        _read_in_root(root, "/etc/group"))
    hostname = spec.hostname or etcfiles.DEFAULT_HOSTNAME
    env = command.with_defaults(spec.env, home=user.home, hostname=hostname, tty=spec.tty)
    ensure_dir_in_root(root, spec.cwd)
    found = command.find_executable(spec.argv[0], env, spec.cwd,
                                    to_host=lambda p: str(resolve_in_root(root, p)))
    if isinstance(found, command.CommandFailure):
        # Like a namespaced container whose exec fails: it "starts", then exits 126/127 (the
        # helper stands in as its process).
        _status.send(status_fd, pid=os.getpid())
        os.write(2, f"minidock: {found.message}\n".encode())
        return found.status
    with tempfile.TemporaryDirectory(prefix="minidock-proot-") as tmp:
        os.chmod(tmp, 0o755)  # readable after dropping to the container's uid
        binds = _dev_binds(Path(tmp))
        for name, text in (("hosts", etcfiles.hosts(hostname, spec.extra_hosts)),
                           ("hostname", hostname + "\n"),
                           ("resolv.conf", etcfiles.resolv_conf(etcfiles.host_resolv_conf(),
                                                                spec.network))):
            Path(tmp, name).write_text(text)
            binds[f"{tmp}/{name}"] = f"/etc/{name}"
        # As real root, really become the container's user (proot alone would only pretend and
        # leave the program with root's power over the host); otherwise fake the ids.
        drop = os.geteuid() == 0 and user.uid != 0
        fake = None if drop else f"{user.uid}:{user.gid}"
        exit_r = exit_w = None
        if _install_waiter(Path(tmp, "dev")):
            exit_r, exit_w = _exit_pipe()
        argv = proot_argv(proot, spec, found, binds, fake_ids=fake, exit_fd=exit_w)
        # What this supervisor inherited as ignored would survive the exec into proot, and a
        # shell (our waiter) started with a signal ignored may not trap it again: the program
        # would start with it ignored. PID 1 of the namespace backends resets them likewise.
        reset_signals()
        try:
            child = subprocess.Popen(
                argv, env=command.as_mapping(env), close_fds=True,
                start_new_session=not spec.tty, pass_fds=() if exit_w is None else (exit_w,),
                user=user.uid if drop else None, group=user.gid if drop else None,
                extra_groups=list(user.groups) if drop else None,
            )
        finally:
            if exit_w is not None:
                os.close(exit_w)
        _status.send(status_fd, pid=_program(child.pid, exit_r) or child.pid)
        os.close(status_fd)
        status = supervise(child.pid)
        if not spec.tty:  # Debian's proot has no --kill-on-exit: end what the program left
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass
        waited = _waited_status(exit_r)
        if exit_r is not None:
            os.close(exit_r)
        return status if waited is None else waited


def _program(proot_pid: int, exit_r: int | None) -> int | None:
    """The program's pid, where signals must go (proot itself exits on SIGTERM and leaves the
    program running, detached): proot's child, or with a waiter the waiter's child (the
    waiter is proot's child once it has left proot's executable)."""
    def done() -> bool:
        return _exited(proot_pid) or (exit_r is not None and _ready(exit_r))
    under_proot = _child_that_ran(proot_pid, done)
    if exit_r is None or under_proot is None:
        return under_proot
    return _child_that_ran(under_proot, done)
