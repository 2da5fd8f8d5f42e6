"""Peak memory, sampled from /proc: per student (every process running as that user: the
single-user server, the kernel, the engine's fork server, containers) and for the class (all
students at once, plus the hub, its proxy and the registry service)."""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path


def _status(pid: str) -> tuple[int, int, int] | None:
    """(uid, ppid, resident KiB) of a process, or None if it is gone or a kernel thread."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if "VmRSS" not in fields:
        return None
    return int(fields["Uid"].split()[0]), int(fields["PPid"]), int(fields["VmRSS"].split()[0])


class MemorySampler(threading.Thread):
    def __init__(self, uids: dict[int, str], hub_pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.uids, self.hub_pid, self.interval = uids, hub_pid, interval
        self.peak_kib: dict[str, int] = defaultdict(int)   # per student
        self.peak_class_kib = 0
        self.peak_hub_kib = 0
        self._done = threading.Event()

    def sample(self) -> None:
        table = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (status := _status(entry.name)) is not None:
                table[int(entry.name)] = status
        per_user: dict[str, int] = defaultdict(int)
        for uid, _, rss in table.values():
            if uid in self.uids:
                per_user[self.uids[uid]] += rss
        hub_side = sum(rss for pid, (uid, _, rss) in table.items()
                       if uid not in self.uids and self._under_hub(pid, table))
        for name, rss in per_user.items():
            self.peak_kib[name] = max(self.peak_kib[name], rss)
        self.peak_hub_kib = max(self.peak_hub_kib, hub_side)
        self.peak_class_kib = max(self.peak_class_kib, hub_side + sum(per_user.values()))

    def _under_hub(self, pid: int, table: dict[int, tuple[int, int, int]]) -> bool:
        seen = 0
        while pid in table and seen < 64:
            if pid == self.hub_pid:
                return True
            pid, seen = table[pid][1], seen + 1
        return False

    def run(self) -> None:
        while not self._done.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._done.set()
        self.join()
