import io
import os

import pytest

from minidock_magic.content import ContentStore
from minidock_magic.content.atomic import atomic_write_bytes
from minidock_magic.errors import DigestMismatch, NotFound
from minidock_magic.oci import Digest


@pytest.fixture
def store(tmp_path):
    return ContentStore(tmp_path / "layout", tmp_dir=tmp_path / "tmp")


def test_blob_is_stored_once_under_its_digest(store):
    a = store.put_bytes(b"hello")
    b = store.ingest(io.BytesIO(b"hello"), Digest.of(b"hello"), 5)
    assert a == b
    assert store.path(a.digest).read_bytes() == b"hello"
    assert [info.digest for info in store.walk()] == [a.digest]
    assert oct(store.path(a.digest).stat().st_mode & 0o777) == "0o400"  # read-only, and private


def test_wrong_digest_leaves_nothing(store, tmp_path):
    with pytest.raises(DigestMismatch):
        store.ingest(io.BytesIO(b"evil"), Digest.of(b"good"))
    with pytest.raises(DigestMismatch):
        store.ingest(io.BytesIO(b"good!"), Digest.of(b"good!"), size=3)
    assert list(store.walk()) == []
    assert list((tmp_path / "tmp").iterdir()) == []


def test_verify_finds_flipped_byte_and_delete(store):
    info = store.put_bytes(b"x" * 1000)
    path = store.path(info.digest)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[500] ^= 1
    path.write_bytes(bytes(data))
    assert not store.verify(info.digest)
    assert store.delete(info.digest) == 1000
    with pytest.raises(NotFound):
        store.open(info.digest)


def test_atomic_write_replaces_whole(tmp_path):
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"one")
    atomic_write_bytes(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_a_large_blob_is_handed_to_the_disk_as_it_is_written(store, monkeypatch):
    """Every WRITEBACK bytes the kernel is asked to start writing out the range just written
    (all of it in the file by then), so commit's fsync waits for the tail only; the blob is
    the same bytes, and a small one asks for nothing."""
    from minidock_magic.content import store as store_module

    advised = []
    real = os.posix_fadvise

    def record(fd, offset, length, advice):
        assert os.fstat(fd).st_size == offset + length  # flushed before the advice
        advised.append((offset, length, advice))
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", record)
    piece = os.urandom(1 << 20)
    data = piece * 20
    with store.writer(Digest.of(data), len(data)) as writer:
        for _ in range(20):
            writer.write(piece)
        info = writer.commit()
    step = store_module.WRITEBACK
    assert advised == [(0, step, os.POSIX_FADV_DONTNEED), (step, step, os.POSIX_FADV_DONTNEED)]
    assert store.read_bytes(info.digest) == data
    advised.clear()
    store.put_bytes(b"small")
    assert advised == []
