"""Turn ``docker run --user`` text into ids, using the *image's* /etc/passwd and /etc/group.

Pure logic, following runc/moby's ``user.GetExecUser`` rules so a student sees what docker
would do: a numeric uid need not exist (its gid is then 0 and home ``/``); a name must exist;
supplementary groups are those of the image's /etc/group that list the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class ResolvedUser:
    """A ``--user`` looked up in the container's own passwd and group files."""

    uid: int
    gid: int
    groups: tuple[int, ...]  # supplementary groups, primary gid first
    home: str
    name: str = ""


def _table(text: str, width: int) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            fields = line.split(":")
            rows.append((fields + [""] * width)[:width])
    return rows


def _id(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def resolve_user(spec: str, passwd: str, group: str) -> ResolvedUser:
    """Ids for ``spec`` ("", "uid", "uid:gid", "name", "name:group").

    >>> pw = "root:x:0:0:root:/root:/bin/sh\\nnobody:x:65534:65534:nobody:/home:/bin/false\\n"
    >>> gr = "root:x:0:\\nwheel:x:10:root\\nnogroup:x:65534:\\n"
    >>> resolve_user("", pw, gr)
    ResolvedUser(uid=0, gid=0, groups=(0, 10), home='/root', name='root')
    >>> resolve_user("nobody", pw, gr)
    ResolvedUser(uid=65534, gid=65534, groups=(65534,), home='/home', name='nobody')
    >>> resolve_user("1234:wheel", pw, gr)
    ResolvedUser(uid=1234, gid=10, groups=(10,), home='/', name='')
    >>> resolve_user("ghost", pw, gr)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    minidock_magic.errors.InvalidArgument: unable to find user ghost: no matching entries in ...
    """
    user_part, _, group_part = (spec or "0").partition(":")
    users = _table(passwd, 7)
    uid = _id(user_part)
    entry = next((u for u in users if (u[0] == user_part if uid is None else u[2] == user_part)),
                 None)
    if entry is None and uid is None:
        raise InvalidArgument(
            f"unable to find user {user_part}: no matching entries in passwd file")
    name = entry[0] if entry else ""
    uid = uid if uid is not None else int(entry[2]) if entry else 0
    gid = (_id(entry[3]) or 0) if entry else 0
    home = (entry[5] or "/") if entry else "/"
    groups_table = _table(group, 4)
    if group_part:
        gid_given = _id(group_part)
        match = next((g for g in groups_table if g[0] == group_part), None)
        if gid_given is None and match is None:
            raise InvalidArgument(
                f"unable to find group {group_part}: no matching entries in group file")
        gid = gid_given if gid_given is not None else int(match[2])  # type: ignore[index]
        # Docker: an explicit group replaces the supplementary groups.
        return ResolvedUser(uid, gid, (gid,), home, name)
    extra = [int(g[2]) for g in groups_table
             if name and name in g[3].split(",") and g[2].isdigit()]
    groups = tuple(dict.fromkeys([gid, *extra]))
    return ResolvedUser(uid, gid, groups, home, name)
