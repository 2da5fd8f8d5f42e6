"""The fallback backend: ``proot`` (ptrace path translation) where the host refuses namespaces.

proot gives a changed root, bind mounts by path translation and fake root ids, and nothing
else: no PID, network, UTS or IPC isolation, no overlayfs, no read-only root. The engine says so
(``HostCapabilities.describe``) instead of pretending; what proot cannot do at all (overlay,
read-only) is refused with ``Unsupported``. It is a teaching fallback, not a security boundary.

Runs in the supervisor (see ``_init``), which supervises proot like it supervises a
namespaced container, so the engine sees the same protocol either way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import Unavailable, Unsupported
from . import _status, command, etcfiles
from .confine import supervise
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
               fake_ids: str | None) -> list[str]:
    """The proot command line for ``spec``; ``binds`` maps host paths to guest paths.

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
    return argv + [exe, *spec.argv[1:]]


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


def _tracee(proot_pid: int, patience: float = 2.0) -> int | None:
    """The program proot started (its only child): signals must go there, for proot itself
    exits on SIGTERM and leaves the program running, detached. Returned once that child has
    left proot's own executable (exec'd the program), as a namespaced start returns once the
    program runs: a ``stop`` right after ``start`` must not kill a half-born child that never
    got to run (and log) anything."""
    deadline = time.monotonic() + patience
    try:
        proot_exe = os.readlink(f"/proc/{proot_pid}/exe")
    except OSError:
        return None
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{proot_pid}/task/{proot_pid}/children").read_text().split()
            if children and os.readlink(f"/proc/{children[0]}/exe") != proot_exe:
                return int(children[0])
            if Path(f"/proc/{proot_pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return None  # the program already finished
        except OSError:
            return None
        time.sleep(0.001)
    return None


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
        argv = proot_argv(proot, spec, found, binds, fake_ids=fake)
        child = subprocess.Popen(
            argv, env=command.as_mapping(env), close_fds=True, start_new_session=not spec.tty,
            user=user.uid if drop else None, group=user.gid if drop else None,
            extra_groups=list(user.groups) if drop else None,
        )
        _status.send(status_fd, pid=_tracee(child.pid) or child.pid)
        os.close(status_fd)
        status = supervise(child.pid)
        if not spec.tty:  # Debian's proot has no --kill-on-exit: end what the program left
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass
        return status
