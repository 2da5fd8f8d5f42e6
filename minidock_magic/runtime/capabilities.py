"""Linux capabilities: docker's default set for container root, and setting every set at once.

A process has five capability sets. Before ``execve`` the container's process keeps in its
bounding set only docker's default, sets effective = permitted = that default, and empties the
inheritable and ambient sets; root's ``execve`` then grants exactly the bounding set, a non-root
user's grants nothing (as in docker, whose non-root container users run with CapEff 0).
"""

from __future__ import annotations

import ctypes

from . import _libc

NAMES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)
#: "CAP_SYS_ADMIN" → 21, as docker's profiles and ``capsh`` name them.
BY_NAME = {f"CAP_{name}": number for number, name in enumerate(NAMES)}

#: docker's default capability set for container root: CHOWN, DAC_OVERRIDE, FOWNER, FSETID,
#: KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE,
#: SETFCAP. Notably not SYS_ADMIN, so container root cannot undo the mounts made for it.
DEFAULT = frozenset({0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31})

_VERSION_3 = 0x20080522
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def names(caps: frozenset[int]) -> list[str]:
    """Capability numbers as docker names them.

    >>> names(frozenset({21, 0}))
    ['CAP_CHOWN', 'CAP_SYS_ADMIN']
    """
    return [f"CAP_{NAMES[c]}" for c in sorted(caps)]


def _mask(caps: frozenset[int]) -> int:
    return sum(1 << c for c in caps)


def set_process_sets(keep: frozenset[int]) -> None:
    """Bounding set, then effective = permitted = ``keep``, inheritable and ambient empty."""
    _libc.drop_bounding_capabilities(keep)
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, "clear ambient capabilities")
    mask = _mask(keep)
    data = (_Data * 2)()
    for word in range(2):
        part = (mask >> (32 * word)) & 0xFFFFFFFF
        data[word].effective = data[word].permitted = part
        data[word].inheritable = 0
    _libc.capset(ctypes.byref(_Header(_VERSION_3, 0)), data)
