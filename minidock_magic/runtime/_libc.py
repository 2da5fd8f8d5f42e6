"""The few Linux syscalls Python 3.11's ``os`` lacks, through ctypes.

``os.unshare`` only arrived in 3.12 and there is no ``mount``/``pivot_root`` at all. Every
wrapper raises ``OSError`` with the failing step in its message, so the helper can turn it into
one clear line. Only the single-threaded helper process calls these.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import functools
import os
import socket
import struct

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWCGROUP = 0x02000000

NAMESPACE_FLAGS = {
    "mount": CLONE_NEWNS, "pid": CLONE_NEWPID, "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC, "net": CLONE_NEWNET,
}

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# pivot_root has no libc wrapper; its number differs between the two table families.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.capset.argtypes = [ctypes.c_void_p, ctypes.c_void_p]


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(value: str | os.PathLike[str] | None) -> bytes | None:
    return None if value is None else os.fsencode(value)


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str | os.PathLike[str] | None, target: str | os.PathLike[str],
          fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    what = f"mount {fstype or source} on {target}"
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), what)


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


def pivot_root(new_root: str, put_old: str) -> None:
    machine = os.uname().machine
    number = _SYS_PIVOT_ROOT.get(machine)
    if number is None:
        raise OSError(errno.ENOSYS, f"pivot_root: unknown syscall number on {machine}")
    _check(_libc.syscall(number, _b(new_root), _b(put_old)), "pivot_root")


def setns(fd: int, nstype: int) -> None:
    """Join the namespaces of ``fd``: a ``/proc/PID/ns/*`` file, or a pidfd (5.8+) with the
    ``CLONE_NEW*`` flags of every namespace to join at once."""
    _check(_libc.setns(fd, nstype), "setns")


def prctl(option: int, arg2: int, arg3: int, arg4: int, arg5: int, what: str) -> None:
    _check(_libc.prctl(option, arg2, arg3, arg4, arg5), what)


def capset(header: object, data: object) -> None:
    _check(_libc.capset(header, data), "capset")


def set_no_new_privs() -> None:
    """No ``execve`` from here on can gain privileges (setuid bits, file capabilities)."""
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, "prctl(PR_SET_NO_NEW_PRIVS)")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp_program(program: bytes) -> None:
    """Load a classic-BPF seccomp program (``struct sock_filter`` array, 8 bytes per
    instruction, as libseccomp exports it) into this thread: ``PR_SET_SECCOMP``."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0,
          "load the seccomp filter")


def set_dumpable(flag: bool) -> None:
    """Not dumpable: no process of the container may ptrace us or open our /proc files while
    we still hold the engine's privileges (runc does the same)."""
    prctl(PR_SET_DUMPABLE, int(flag), 0, 0, 0, "prctl(PR_SET_DUMPABLE)")


def set_parent_death_signal(sig: int) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


@functools.cache
def last_capability() -> int:
    """The highest capability this kernel knows: read once per process (the fork server reads
    it before forking, so no container start does)."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return int(f.read())


def drop_bounding_capabilities(keep: frozenset[int]) -> None:
    """Shrink the bounding set so that root's next ``execve`` gets only ``keep``.

    For uid 0 the kernel grants exactly the bounding set at exec (file capabilities count as
    full), so this is all it takes to give container root docker's default capability set
    instead of the helper's full one.
    """
    for cap in range(last_capability() + 1):
        if cap not in keep:
            _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")


def interface_up(name: str) -> None:
    """Bring a network interface up (``ip link set NAME up`` without iproute2)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh14x", name.encode(), 0)
        flags = struct.unpack("16sh14x", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sh14x", name.encode(), flags | iff_up))
