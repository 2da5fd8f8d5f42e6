"""Which numeric owners a layer records: the image's view of a file's owner, never the host's.

A rootless engine holds container files under host ids: container root's files belong to the
user running the engine, container uid N (N >= 1) to ``START + N - 1`` of the user's
``/etc/subuid`` range. Written as they are on the host, the same image built by root and by a
student would differ in every header (1001:1001 instead of 0:0), so no digest would match the
lessons'. A layer therefore records each owner translated back into the container's ids, as
podman's and docker's userns-remap do; an id with no container counterpart is the kernel's
overflow id (65534), what the container itself saw.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

OVERFLOW_ID = 65534  # /proc/sys/kernel/overflowuid: how a user namespace shows an unmapped id

Ranges = tuple[tuple[int, int, int], ...]  # (host start, container start, count)


def _translate(ranges: Ranges, host_id: int) -> int:
    for host_start, inside_start, count in ranges:
        if host_start <= host_id < host_start + count:
            return inside_start + host_id - host_start
    return OVERFLOW_ID


@dataclass(frozen=True, slots=True)
class OwnerMap:
    """Host (uid, gid) → the (uid, gid) a layer records; ``None`` ranges mean unchanged, and
    ``root_only`` records every entry as 0:0.

    >>> OwnerMap.of_caller(1001, 1001, (100000, 65536), (100000, 65536)).to_layer(1001, 1001)
    (0, 0)
    >>> OwnerMap.of_caller(1001, 1001, (100000, 65536), (100000, 65536)).to_layer(100999, 1001)
    (1000, 0)
    >>> OwnerMap.of_caller(1001, 1001).to_layer(0, 5)
    (65534, 65534)
    >>> OwnerMap.of_caller(0, 0).to_layer(33, 33), OwnerMap.everything_root().to_layer(7, 8)
    ((33, 33), (0, 0))
    """

    uids: Ranges | None
    gids: Ranges | None
    root_only: bool = False

    @classmethod
    def identity(cls) -> OwnerMap:
        return cls(None, None)

    @classmethod
    def everything_root(cls) -> OwnerMap:
        """Every entry 0:0 — a tree made from host files for an image (the busybox bootstrap)."""
        return cls(None, None, root_only=True)

    @classmethod
    def of_caller(cls, uid: int, gid: int, sub_uids: tuple[int, int] | None = None,
                  sub_gids: tuple[int, int] | None = None) -> OwnerMap:
        """The map of a container run by ``uid``/``gid`` (identity for root, which maps nothing)."""
        if uid == 0:
            return cls.identity()
        return cls(((uid, 0, 1),) + (((sub_uids[0], 1, sub_uids[1]),) if sub_uids else ()),
                   ((gid, 0, 1),) + (((sub_gids[0], 1, sub_gids[1]),) if sub_gids else ()))

    @classmethod
    def of_process(cls) -> OwnerMap:
        """This process's own ids as container root (no subordinate ranges: see ``of_caller``)."""
        return cls.of_caller(os.geteuid(), os.getegid())

    def to_host(self, uid: int, gid: int) -> tuple[int, int]:
        """The inverse: the host ids that hold a file the container sees as ``uid:gid``.

        >>> OwnerMap.of_caller(1001, 1002, (100000, 65536), None).to_host(0, 0)
        (1001, 1002)
        >>> OwnerMap.of_caller(1001, 1002, (100000, 65536), None).to_host(1000, 5)
        (100999, 65534)
        """
        def back(ranges: Ranges | None, inside: int) -> int:
            if ranges is None:
                return inside
            flipped = tuple((start, host, count) for host, start, count in ranges)
            return _translate(flipped, inside)
        return back(self.uids, uid), back(self.gids, gid)

    def to_layer(self, uid: int, gid: int) -> tuple[int, int]:
        if self.root_only:
            return 0, 0
        return (uid if self.uids is None else _translate(self.uids, uid),
                gid if self.gids is None else _translate(self.gids, gid))
