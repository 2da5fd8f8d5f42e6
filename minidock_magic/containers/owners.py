"""The owners a layer written from a container's files records (commit, build steps)."""

from __future__ import annotations

import os

from ..diff.owners import OwnerMap


def container_owners() -> OwnerMap:
    """Host ids back to the container's: this user's id is root inside, its subordinate range
    (when newuidmap maps one) is uid 1 up — the same plan the runtime maps by."""
    if os.geteuid() == 0:
        return OwnerMap.identity()
    from ..runtime.idmap import plan
    ids = plan()
    return OwnerMap.of_caller(ids.uid, ids.gid, ids.sub_uids, ids.sub_gids)
