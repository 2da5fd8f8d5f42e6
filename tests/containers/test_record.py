"""Container records: config.json is durable, state.json is not, and reading copes with that."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minidock_magic.containers.record import ContainerConfig, ContainerState, ContainerStore, new_id
from minidock_magic.errors import NotFound


@pytest.fixture
def store(tmp_path: Path) -> ContainerStore:
    return ContainerStore(tmp_path / "containers", tmp_path / "locks" / "containers.lock")


def make(store: ContainerStore, name: str, *, auto_remove: bool = False) -> ContainerConfig:
    config = ContainerConfig(id=new_id(), name=name, image="busybox", image_id="sha256:x",
                             image_target={}, snapshot="s", parent_snapshot=None, argv=["true"],
                             env=[], auto_remove=auto_remove)
    return store.create(config)


def test_only_the_config_is_synced(store: ContainerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    config = make(store, "web")
    assert len(synced) == 2  # config.json and its directory
    store.update_state(config.id, status="running", pid=1)
    assert len(synced) == 2 and store.state(config.id).status == "running"


def test_an_rm_container_is_not_synced(store: ContainerStore,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # It is removed when it exits: a power cut may lose it, a `run --rm` need not wait for disk.
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    config = make(store, "once", auto_remove=True)
    assert synced == [] and store.config(config.id) == config


def test_create_writes_no_state_and_reads_as_created(store: ContainerStore) -> None:
    config = make(store, "web")
    assert not (store.root / config.id / "state.json").exists()
    assert store.state(config.id) == ContainerState()
    assert store.update_state(config.id, status="running").status == "running"


def test_a_state_lost_or_not_yet_written_is_not_a_missing_container(store: ContainerStore) -> None:
    config = make(store, "web")
    state_file = store.root / config.id / "state.json"
    assert store.state(config.id) == ContainerState()  # created: no state written yet
    state_file.write_bytes(b"")  # what a power cut can leave of a write that was not synced
    lost = store.state(config.id)
    assert lost.status == "exited" and "lost" in lost.error
    store.delete(config.id)
    with pytest.raises(NotFound):
        store.state(config.id)


def test_find_by_id_name_and_prefix(store: ContainerStore) -> None:
    web, db = make(store, "web"), make(store, "db")
    assert store.find(web.id) == web and store.find("/db") == db
    assert store.find(db.id[:20]) == db
    with pytest.raises(NotFound):
        store.find("0" * 64)


def test_without_a_name_the_store_picks_a_free_one(store: ContainerStore) -> None:
    taken = {make(store, "web").name}
    for _ in range(5):
        config = make(store, "")
        assert config.name not in taken
        assert store.find(config.name).id == config.id
        taken.add(store.config(config.id).name)
