"""Looking into a running container's PID namespace (``top``); ``exec`` is ``runtime.enter``."""

from __future__ import annotations

import os
from pathlib import Path


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
