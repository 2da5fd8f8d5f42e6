"""Looking into and entering a running container's namespaces (``top``, ``exec``)."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidArgument


def in_pid_namespace_of(pid: int) -> list[list[str]]:
    """UID, PID, PPID, CMD of every process that shares ``pid``'s PID namespace (host PIDs)."""
    namespace = os.readlink(f"/proc/{pid}/ns/pid")
    rows = []
    for entry in sorted(Path("/proc").iterdir(), key=lambda p: int(p.name) if p.name.isdigit() else 0):
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "ns/pid") != namespace:
                continue
            status = dict(line.split(":\t", 1) for line in
                          (entry / "status").read_text().splitlines() if ":\t" in line)
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # it exited while we looked
        rows.append([status.get("Uid", "").split()[0], entry.name, status.get("PPid", ""),
                     cmdline or f"[{status.get('Name', '')}]"])
    return rows


def nsenter_command(pid: int, cwd: str, user: str | None) -> list[str]:
    """util-linux nsenter into every namespace of ``pid``, its root and a working directory."""
    command = ["nsenter", "--target", str(pid), "--all", "--root", f"--wd={cwd}"]
    if user:
        uid, _, gid = user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            raise InvalidArgument("exec -u takes numeric UID[:GID]")
        command += [f"--setuid={uid}", f"--setgid={gid or uid}"]
    return command
