"""Container records: what a container is (config, fixed at create) and where it is (state).

Each container has a directory ``containers/<id>/`` holding ``config.json``, ``state.json`` and
``container.log``, every JSON file written atomically, so a crash never leaves a half record.
The directory name is the 64-hex id we generated, never user text.

Only ``config.json`` is also made durable (fsync), and only for a container that outlives its
run (an ``--rm`` one is removed when it exits anyway). The state changes at every start and exit,
and what it says is checked anyway: a "running" container whose process is gone is found out
from its pid and start time (``Lifecycle.state``). So a power cut may lose a state write, never
the container; a state file it left empty reads as "exited".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from ..content.atomic import PRIVATE_DIR, PRIVATE_FILE, atomic_write_bytes, locked, private_dir
from ..errors import AlreadyExists, InvalidArgument, NotFound
from .names import random_name

NAME_GRAMMAR = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")  # docker's container name rule
ID_GRAMMAR = re.compile(r"^[0-9a-f]{64}\Z")


@dataclass(frozen=True)
class ContainerConfig:
    """What a container was created with (``config.json``, written once)."""

    id: str
    name: str
    image: str                     # what the user asked for, as shown by ps
    image_id: str                  # config digest (docker's image ID)
    image_target: dict[str, Any]   # manifest descriptor JSON: keeps the image's blobs alive
    snapshot: str                  # active snapshot key (the writable layer)
    parent_snapshot: str | None    # the image's top ChainID
    argv: list[str]
    env: list[str]
    cwd: str = "/"
    user: str = ""
    hostname: str = ""
    network: str = "none"          # none | host | container:<id> (shares that one's namespace)
    isolation: str = ""
    auto_remove: bool = False
    interactive: bool = False
    limits: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    created: float = 0.0
    security_opt: list[str] = field(default_factory=list)
    seccomp: Any = "builtin"       # "builtin", "unconfined" or the profile read at create
    ports: list[list[Any]] = field(default_factory=list)  # published (PortBinding JSON); 0: any

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True)
class ContainerState:
    """Where a container is in its life (``state.json``)."""

    status: str = "created"        # created | running | exited
    pid: int = 0                   # host pid of the container's PID 1
    pid_start: int = 0             # its start time, so a reused pid is not mistaken for it
    owner_pid: int = 0             # the shim (detached) or the process running it attached
    exit_code: int | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    error: str = ""
    restart_count: int = 0
    ports: list[list[Any]] = field(default_factory=list)  # bound while running (real host ports)


def new_id() -> str:
    # secrets.token_hex(32) is exactly this, but importing secrets pulls in hmac and hashlib
    # (OpenSSL, ~4 ms) on every container start.
    return os.urandom(32).hex()


class ContainerStore:
    def __init__(self, root: Path, lock_path: Path) -> None:
        self.root = root
        self._lock_path = lock_path

    def _dir(self, container_id: str) -> Path:
        if not ID_GRAMMAR.match(container_id):
            raise InvalidArgument(f"invalid container id {container_id!r}")
        return self.root / container_id

    def log_path(self, container_id: str) -> Path:
        return self._dir(container_id) / "container.log"

    def open_log(self, container_id: str) -> BinaryIO:
        """The log, for appending; made 0600 (a container's output is its owner's only)."""
        fd = os.open(self.log_path(container_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                     PRIVATE_FILE)
        return os.fdopen(fd, "ab")

    def create(self, config: ContainerConfig) -> ContainerConfig:
        """Record ``config``; without a name it gets a random one no other container has. The
        names in use are read once, under the lock that makes the choice race-free."""
        if config.name and not NAME_GRAMMAR.match(config.name):
            raise InvalidArgument(f"invalid container name {config.name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                                  "are allowed")
        with locked(self._lock_path):
            taken = {other.name: other.id for other in self.list()}
            if not config.name:
                config = replace(config, name=random_name(set(taken)))
            elif config.name in taken:
                raise AlreadyExists(f'Conflict. The container name "/{config.name}" is already in '
                                    f"use by container {taken[config.name]}. Remove it or pick another "
                                    "name.")
            directory = self._dir(config.id)
            private_dir(self.root)
            directory.mkdir(mode=PRIVATE_DIR)
            # No state.json yet: a record without one reads as "created" (``state``). An --rm
            # container's record goes when it exits, so surviving a power cut is not its job.
            atomic_write_bytes(directory / "config.json", json.dumps(asdict(config)).encode(),
                               durable=not config.auto_remove)
        return config

    def list(self) -> list[ContainerConfig]:
        if not self.root.is_dir():
            return []
        found = []
        for entry in self.root.iterdir():
            if ID_GRAMMAR.match(entry.name) and (entry / "config.json").is_file():
                found.append(self.config(entry.name))
        return sorted(found, key=lambda c: c.created, reverse=True)

    def config(self, container_id: str) -> ContainerConfig:
        try:
            data = json.loads((self._dir(container_id) / "config.json").read_bytes())
        except FileNotFoundError:
            raise NotFound(f"No such container: {container_id}") from None
        return ContainerConfig(**data)

    def state(self, container_id: str) -> ContainerState:
        path = self._dir(container_id) / "state.json"
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            if not (path.parent / "config.json").is_file():
                raise NotFound(f"No such container: {container_id}") from None
            return ContainerState()  # created, never started: create writes no state
        except ValueError:  # left empty by a power cut (it is written without fsync)
            return ContainerState(status="exited", error="its state was lost when the host stopped")
        return ContainerState(**data)

    def save_state(self, container_id: str, state: ContainerState) -> None:
        atomic_write_bytes(self._dir(container_id) / "state.json", json.dumps(asdict(state)).encode(),
                           durable=False)

    def update_state(self, container_id: str, **changes: Any) -> ContainerState:
        with locked(self._lock_path.with_name(f"container-{container_id[:12]}.lock")):
            state = replace(self.state(container_id), **changes)
            self.save_state(container_id, state)
        return state

    def find(self, text: str) -> ContainerConfig:
        """By full id, name or unique id prefix, as docker resolves them."""
        text = text.lstrip("/")
        if ID_GRAMMAR.match(text):  # without reading every other container's record
            with contextlib.suppress(NotFound):
                return self.config(text)
        configs = self.list()
        for config in configs:
            if config.name == text or config.id == text:
                return config
        matches = [c for c in configs if text and c.id.startswith(text)]
        if len(matches) > 1:
            raise InvalidArgument(f"multiple containers match {text!r}: give more of the id")
        if not matches:
            raise NotFound(f"No such container: {text}")
        return matches[0]

    def delete(self, container_id: str) -> None:
        shutil.rmtree(self._dir(container_id), ignore_errors=True)


def process_start_time(pid: int) -> int:
    """Field 22 of /proc/PID/stat (clock ticks since boot): with the pid, names one process."""
    from ..runtime.netns import start_time_of
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return start_time_of(text)


def is_alive(pid: int, start_time: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return process_start_time(pid) == start_time and not_zombie(pid)


def not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (FileNotFoundError, ProcessLookupError):  # it exited while we looked
        return False


def now() -> float:
    return time.time()
