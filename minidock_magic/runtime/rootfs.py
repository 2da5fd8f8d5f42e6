"""Build the container's filesystem view inside its fresh mount namespace, then pivot into it.

Runs in the container's first process (PID 1 of the new PID namespace, before ``execve``).
Every mount target under the rootfs goes through ``safepath`` first, so the image's symlinks
cannot point a mount at the host. Nothing here outlives the namespace: when the container's
last process exits, the kernel drops all of these mounts; the image only gains empty
mount-point files/dirs (``/proc``, ``/dev``, ``/etc/hosts`` …) where it lacked them, as docker's
do.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import Unavailable
from . import _libc, etcfiles
from ._libc import (
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    MS_STRICTATIME,
    mount,
)
from .safepath import ensure_dir_in_root, ensure_file_in_root
from .spec import OverlayMount, ProcessSpec

#: Device nodes bind-mounted from the host (creating them needs CAP_MKNOD in the init namespace).
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
#: docker's defaults: /proc entries that let root reach the host kernel are read-only or hidden
#: (``echo b > /proc/sysrq-trigger`` would reboot the host from a rootful container).
PROC_READ_ONLY = ("bus", "fs", "irq", "sys", "sysrq-trigger")
PROC_MASKED = ("acpi", "asound", "interrupts", "kcore", "keys", "latency_stats", "sched_debug",
               "scsi", "timer_list", "timer_stats")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}


def overlay_options(overlay: OverlayMount, *, userxattr: bool, volatile: bool = True) -> str:
    """overlayfs mount data; ``userxattr`` stores its metadata where an unprivileged user may;
    ``volatile`` (False: the kernel, older than 5.10, refused it) if the overlay asks for it.

    >>> overlay_options(OverlayMount([Path("/l2"), Path("/l1")], Path("/u"), Path("/w")),
    ...                 userxattr=True)
    'lowerdir=/l2:/l1,upperdir=/u,workdir=/w,userxattr'
    >>> overlay_options(OverlayMount([Path("/l")], Path("/u"), Path("/w"), volatile=True),
    ...                 userxattr=False)
    'lowerdir=/l,upperdir=/u,workdir=/w,volatile'
    """
    options = ["lowerdir=" + ":".join(str(p) for p in overlay.lowerdirs)]
    if overlay.upperdir is not None and overlay.workdir is not None:
        options += [f"upperdir={overlay.upperdir}", f"workdir={overlay.workdir}"]
        if overlay.volatile and volatile:
            options.append("volatile")
    if userxattr:
        options.append("userxattr")
    return ",".join(options)


def _mount_overlay(overlay: OverlayMount, root: Path, *, userxattr: bool) -> None:
    data = overlay_options(overlay, userxattr=userxattr)
    try:
        mount("overlay", root, "overlay", MS_NODEV, data)
        return
    except OSError as exc:
        if not overlay.volatile or exc.errno != errno.EINVAL:
            raise Unavailable(f"container setup failed: mount overlayfs: {exc.strerror}") \
                from None
        if overlay.workdir is not None and \
                os.path.lexists(overlay.workdir / "work" / "incompat" / "volatile"):
            raise Unavailable("container setup failed: this --rm container's writable layer "
                              "was left by a run that never finished (overlayfs will not mount "
                              "it again): remove the container") from None
    # A kernel without the option (before 5.10): the layer goes at exit all the same.
    _step("mount overlayfs", mount, "overlay", root, "overlay", MS_NODEV,
          overlay_options(overlay, userxattr=userxattr, volatile=False))


def _step(what: str, action: object, *args: object) -> None:
    """Run a mount step; a refusal becomes one line saying which step the host refused."""
    try:
        action(*args)  # type: ignore[operator]
    except OSError as exc:
        raise Unavailable(f"container setup failed: {what}: {exc.strerror}") from None


def _mount_proc(root: Path) -> None:
    proc = ensure_dir_in_root(root, "/proc")
    _step("mount /proc", mount, "proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # A fresh procfs: its entries are the kernel's own, no image symlink can be among them.
    # One listing says which of them this kernel has and which are directories.
    with os.scandir(proc) as entries:
        present = {entry.name: entry.is_dir(follow_symlinks=False) for entry in entries}
    flags = _locked_flags(str(proc))  # each bind below is of this very mount: the same flags
    for name in PROC_READ_ONLY:
        if name in present:
            path = proc / name
            _step(f"protect /proc/{name}", mount, path, path, None, MS_BIND | MS_REC)
            _step(f"protect /proc/{name}", mount, None, path, None,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
    for name in PROC_MASKED:
        if name not in present:
            continue
        if present[name]:
            _step(f"hide /proc/{name}", mount, "tmpfs", proc / name, "tmpfs", MS_RDONLY, "size=0")
        else:
            _step(f"hide /proc/{name}", mount, "/dev/null", proc / name, None, MS_BIND)


def _mount_dev(root: Path) -> Path:
    dev = ensure_dir_in_root(root, "/dev")
    # nodev: a node the container makes here (it keeps docker's CAP_MKNOD) opens nothing. The
    # standard devices below are bind mounts of the host's nodes and keep their own mount's
    # flags, so they alone work: docker's default device set, without a device cgroup.
    _step("mount tmpfs on /dev", mount, "tmpfs", dev, "tmpfs",
          MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=755,size=65536k")
    # A fresh tmpfs holds nothing but what we put there, so plain paths are safe from here on.
    for name in DEVICES:
        node = dev / name
        os.close(os.open(node, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666))
        _step(f"bind /dev/{name}", mount, f"/dev/{name}", node, None, MS_BIND)
    for name, target in DEV_LINKS.items():
        (dev / name).symlink_to(target)
    (dev / "pts").mkdir()
    (dev / "shm").mkdir(mode=0o1777)
    # Optional extras: some hosts refuse devpts or extra tmpfs in a user namespace.
    for data in ("newinstance,ptmxmode=0666,mode=0620,gid=5",
                 "newinstance,ptmxmode=0666,mode=0620"):  # gid 5 (tty) may be unmapped
        try:
            mount("devpts", dev / "pts", "devpts", MS_NOSUID | MS_NOEXEC, data)
            break
        except OSError:
            continue
    try:
        mount("shm", dev / "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=1777,size=65536k")
    except OSError:
        pass
    return dev


def _bind_etc_file(root: Path, dev: Path, name: str, text: str) -> None:
    # The source lives briefly on our own /dev tmpfs and is unlinked once bound, so the engine
    # leaves no file behind anywhere; the bind keeps the inode alive for the container.
    source = dev / f".minidock-{name}"
    source.write_text(text)
    source.chmod(0o644)
    target = ensure_file_in_root(root, f"/etc/{name}")
    _step(f"bind /etc/{name}", mount, source, target, None, MS_BIND)
    source.unlink()


def prepare(spec: ProcessSpec, *, in_user_namespace: bool, hostname: str) -> None:
    """Mount the rootfs (overlay or bind), /proc, /dev and the /etc files under it."""
    root = spec.rootfs
    # Nothing we mount may propagate back to the host's mount namespace.
    _step("make mounts private", mount, None, "/", None, MS_REC | MS_PRIVATE)
    # nodev: a device node that came in a layer (or that the container makes) opens nothing;
    # the devices a container may use are bound onto its own /dev tmpfs below.
    if spec.overlay is not None:
        _mount_overlay(spec.overlay, root, userxattr=in_user_namespace)
    else:  # pivot_root needs the new root to be a mount point
        _step("bind the rootfs", mount, root, root, None, MS_BIND | MS_REC)
        _step("make the rootfs nodev", mount, None, root, None,
              MS_REMOUNT | MS_BIND | MS_NODEV | _locked_flags(str(root)))
    _mount_proc(root)
    dev = _mount_dev(root)
    _bind_etc_file(root, dev, "hosts", etcfiles.hosts(hostname, spec.extra_hosts))
    _bind_etc_file(root, dev, "hostname", hostname + "\n")
    _bind_etc_file(root, dev, "resolv.conf",
                   etcfiles.resolv_conf(etcfiles.host_resolv_conf(), spec.network))


def _locked_flags(path: str) -> int:
    """Flags of the mount at ``path`` that a remount inside a user namespace must keep."""
    flag = os.statvfs(path).f_flag
    pairs = ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
             (os.ST_NOATIME, _libc.MS_NOATIME), (os.ST_NODIRATIME, _libc.MS_NODIRATIME),
             (os.ST_RELATIME, _libc.MS_RELATIME))
    return sum(ms for st, ms in pairs if flag & st)


def enter(spec: ProcessSpec) -> None:
    """``pivot_root`` into the prepared rootfs, drop the host's tree, create the working dir."""
    os.chdir(spec.rootfs)
    # pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only
    # the container's tree, with no directory of the host left reachable.
    _step("pivot_root", _libc.pivot_root, ".", ".")
    _step("detach the host root", _libc.umount2, ".", _libc.MNT_DETACH)
    os.chdir("/")
    try:
        os.makedirs(spec.cwd, mode=0o755, exist_ok=True)
    except OSError as exc:
        raise Unavailable(f"cannot create working directory {spec.cwd}: {exc.strerror}") from None
    if spec.read_only:
        _step("make the rootfs read-only", mount, None, "/", None,
              MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags("/"))
