"""The registry's filesystem: uploads, links, manifests, crash safety and garbage collection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from minidock_magic.errors import DigestMismatch, InvalidArgument, NotFound
from minidock_magic.oci.digest import Digest
from minidock_magic.registry import garbage_collect
from minidock_magic.registry.manifests import validate
from minidock_magic.registry.routes import RangeNotSatisfiable
from minidock_magic.registry.storage import Storage

from .conftest import OCI_MANIFEST, make_image, sha256


def upload(store: Storage, name: str, data: bytes) -> Digest:
    upload_id = store.start_upload(name)
    with store.upload_writer(name, upload_id) as writer:
        writer.write(data)
    digest = Digest.parse(sha256(data))
    store.complete_upload(name, upload_id, digest)
    return digest


def push_image(store: Storage, name: str, tag: str, text: bytes = b"x") -> Digest:
    image = make_image(text)
    for blob in image.blobs:
        upload(store, name, blob)
    info = validate(image.manifest, OCI_MANIFEST)
    store.put_manifest(name, info, image.manifest, (tag,))
    return info.digest


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_layout_on_disk(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    digest = push_image(store, "me/app", "v1")
    files = files_under(tmp_path)
    assert f"blobs/sha256/{digest.encoded}" in files
    assert f"repositories/me/app/_manifests/revisions/sha256/{digest.encoded}" in files
    assert "repositories/me/app/_manifests/tags/v1" in files
    assert (tmp_path / "repositories/me/app/_manifests/tags/v1").read_text() == str(digest)
    assert sum(f.startswith("repositories/me/app/_layers/sha256/") for f in files) == 2
    assert not any(f.startswith("uploads/") for f in files), "finished uploads leave nothing behind"
    assert store.repositories() == ["me/app"]


def test_blobs_are_stored_once_across_repositories(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    push_image(store, "a/one", "v1")
    push_image(store, "b/two", "v1")
    assert len(list((tmp_path / "blobs/sha256").iterdir())) == 3  # layer, config, manifest — once
    assert store.repositories() == ["a/one", "b/two"]


def test_chunks_commit_only_when_complete(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    upload_id = store.start_upload("r")
    with store.upload_writer("r", upload_id, 0, 3) as writer:
        writer.write(b"abc")
    assert store.upload_offset("r", upload_id) == 3
    with pytest.raises(RuntimeError), store.upload_writer("r", upload_id, 3) as writer:
        writer.write(b"partial")  # the body breaks off half way: nothing of it counts
        raise RuntimeError("client went away")
    assert store.upload_offset("r", upload_id) == 3
    with pytest.raises(InvalidArgument), store.upload_writer("r", upload_id, 3, 10) as writer:
        writer.write(b"short")  # fewer bytes than the Content-Range promised
    with pytest.raises(RangeNotSatisfiable), store.upload_writer("r", upload_id, 0):
        pass
    with store.upload_writer("r", upload_id, 3) as writer:
        writer.write(b"def")
    store.complete_upload("r", upload_id, Digest.parse(sha256(b"abcdef")))
    assert store.blob_path("r", Digest.parse(sha256(b"abcdef"))).read_bytes() == b"abcdef"


def forbid_reading_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def read_back(data: Path, digest: Digest) -> None:
        raise AssertionError(f"the upload was read back to hash it ({digest})")
    monkeypatch.setattr(Storage, "_hash_file", staticmethod(read_back))


def test_uploads_are_hashed_as_they_arrive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Completing an upload does not read it back, and a chunk that broke off leaves no trace in the hash."""
    store = Storage(tmp_path)
    forbid_reading_back(monkeypatch)
    upload_id = store.start_upload("r")
    with store.upload_writer("r", upload_id, 0, 3) as writer:
        writer.write(b"abc")
    with pytest.raises(RuntimeError), store.upload_writer("r", upload_id, 3) as writer:
        writer.write(b"partial")
        raise RuntimeError("client went away")
    with pytest.raises(InvalidArgument), store.upload_writer("r", upload_id, 3, 10) as writer:
        writer.write(b"short")
    with store.upload_writer("r", upload_id, 3) as writer:
        writer.write(b"def")
    digest = Digest.parse(sha256(b"abcdef"))
    assert store.complete_upload("r", upload_id, digest) == 6
    assert store.blob_path("r", digest).read_bytes() == b"abcdef"
    assert store._running == {}, "a finished upload keeps no hash"
    mismatch = store.start_upload("r")
    with store.upload_writer("r", mismatch) as writer:
        writer.write(b"real bytes")
    with pytest.raises(DigestMismatch):
        store.complete_upload("r", mismatch, Digest.parse(sha256(b"other bytes")))
    assert store._running == {}


def test_an_upload_begun_before_a_restart_is_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The running hash lives in one process: a registry restarted mid-upload hashes the file instead."""
    before = Storage(tmp_path)
    upload_id = before.start_upload("r")
    with before.upload_writer("r", upload_id) as writer:
        writer.write(b"first half, ")
    after = Storage(tmp_path)  # a new server process on the same directory
    with after.upload_writer("r", upload_id) as writer:
        writer.write(b"second half")
    read_back: list[Digest] = []
    real = Storage._hash_file
    monkeypatch.setattr(Storage, "_hash_file", staticmethod(lambda data, digest: read_back.append(digest)
                                                             or real(data, digest)))
    digest = Digest.parse(sha256(b"first half, second half"))
    after.complete_upload("r", upload_id, digest)
    assert read_back == [digest]
    assert after.blob_path("r", digest).read_bytes() == b"first half, second half"


def test_a_digest_of_another_algorithm_is_checked_by_reading_back(tmp_path: Path) -> None:
    import hashlib
    store = Storage(tmp_path)
    upload_id = store.start_upload("r")
    with store.upload_writer("r", upload_id) as writer:
        writer.write(b"bytes")
    digest = Digest.parse("sha512:" + hashlib.sha512(b"bytes").hexdigest())
    assert store.complete_upload("r", upload_id, digest) == 5
    assert store._running == {}


def test_uploads_belong_to_their_repository(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    upload_id = store.start_upload("mine")
    with pytest.raises(NotFound) as caught:
        store.upload_offset("theirs", upload_id)
    assert caught.value.registry_code == "BLOB_UPLOAD_UNKNOWN"


def test_digest_mismatch_stores_nothing(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    upload_id = store.start_upload("r")
    with store.upload_writer("r", upload_id) as writer:
        writer.write(b"real bytes")
    with pytest.raises(DigestMismatch) as caught:
        store.complete_upload("r", upload_id, Digest.parse(sha256(b"other bytes")))
    assert caught.value.registry_code == "DIGEST_INVALID" and caught.value.http_status == 400
    assert files_under(tmp_path) == []


def test_manifests_tags_and_deletes(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    digest = push_image(store, "r", "v1")
    store.put_manifest("r", validate(store.get_manifest("r", "v1").body, None), store.get_manifest("r", "v1").body,
                       ("v2",))
    assert store.tags("r") == ["v1", "v2"]
    assert store.resolve("r", "v2") == digest
    store.delete_tag("r", "v1")
    assert store.tags("r") == ["v2"] and store.has_manifest("r", digest)
    store.delete_manifest("r", digest)
    assert store.tags("r") == []
    with pytest.raises(NotFound) as caught:
        store.get_manifest("r", str(digest))
    assert caught.value.registry_code == "MANIFEST_UNKNOWN"
    with pytest.raises(NotFound) as caught:
        store.tags("nobody")
    assert caught.value.registry_code == "NAME_UNKNOWN"


def test_garbage_collection(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    keep = push_image(store, "r", "keep", b"kept layer")
    gone = push_image(store, "r", "gone", b"deleted layer")
    upload(store, "r", b"never referenced")
    assert garbage_collect(tmp_path) == (1, len(b"never referenced"))
    store.delete_manifest("r", gone)
    gone_sizes = [len(b) for b in make_image(b"deleted layer").blobs] + [len(make_image(b"deleted layer").manifest)]
    assert garbage_collect(tmp_path) == (3, sum(gone_sizes))
    assert store.get_manifest("r", "keep").digest == keep
    for blob in make_image(b"kept layer").blobs:
        assert store.blob_in_repository("r", Digest.parse(sha256(blob)))
    assert garbage_collect(tmp_path) == (0, 0)
    links = list((tmp_path / "repositories/r/_layers/sha256").iterdir())
    assert len(links) == 2, "links to swept blobs are swept too"


def test_gc_sweeps_writes_a_crash_cut_short(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    keep = push_image(store, "r", "keep", b"kept layer")
    revisions = tmp_path / "repositories/r/_manifests/revisions/sha256"
    stray = revisions / f".{keep.encoded}.abc123.tmp"  # as atomic_write_bytes names its temp
    stray.write_bytes(b"half")
    (tmp_path / "repositories/r/_manifests/tags/.keep.xyz.tmp").write_bytes(b"sha256:")
    assert garbage_collect(tmp_path) == (0, 0)
    assert sorted(p.name for p in revisions.iterdir()) == [keep.encoded]
    assert [p.name for p in (tmp_path / "repositories/r/_manifests/tags").iterdir()] == ["keep"]
    assert store.get_manifest("r", "keep").digest == keep


def test_gc_keeps_what_an_index_and_a_subject_reference(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    child = push_image(store, "r", "child")
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": OCI_MANIFEST, "digest": str(child), "size": 1}]}).encode()
    store.put_manifest("r", validate(index, None), index, ("multi",))
    store.delete_manifest("r", child)  # only the index still leads to the child and its layers
    assert garbage_collect(tmp_path) == (0, 0)
    referrer = make_image(b"a signature", subject={"mediaType": OCI_MANIFEST, "digest": str(child), "size": 1})
    for blob in referrer.blobs:
        upload(store, "r", blob)
    store.put_manifest("r", validate(referrer.manifest, None), referrer.manifest, ("sig",))
    store.delete_manifest("r", validate(index, None).digest)
    assert garbage_collect(tmp_path) == (1, len(index)), "the subject and its layers stay"
    store.delete_manifest("r", validate(referrer.manifest, None).digest)
    assert garbage_collect(tmp_path)[0] == 3 + 3


@pytest.mark.integration
def test_kill_mid_upload_leaves_no_partial_blob(tmp_path: Path) -> None:
    """SIGKILL the registry while it streams a chunk to disk; restart; nothing partial is visible."""
    script = ("import sys, time; from minidock_magic.registry import RegistryServer\n"
              "s = RegistryServer(sys.argv[1]).start(); print(s.url, flush=True); time.sleep(600)\n")
    data = tmp_path / "data"

    def start() -> tuple[subprocess.Popen[str], str]:
        proc = subprocess.Popen([sys.executable, "-c", script, str(data)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        return proc, proc.stdout.readline().strip()

    proc, url = start()
    blob = os.urandom(1 << 20) * 8
    with httpx.Client(base_url=url) as client:
        location = client.post("/v2/r/blobs/uploads/").headers["Location"]

        def body():  # type: ignore[no-untyped-def]
            yield blob[: 1 << 22]
            time.sleep(0.5)
            proc.send_signal(signal.SIGKILL)
            time.sleep(0.5)
            yield blob[1 << 22:]

        with pytest.raises(httpx.HTTPError):
            client.patch(location, content=body())
    proc.wait()
    assert not any(p.is_file() for p in (data / "blobs").rglob("*")), "no blob may appear"
    proc, url = start()
    try:
        with httpx.Client(base_url=url) as client:
            assert client.get(location).headers["Range"] == "0-0", "the broken chunk was never committed"
            assert client.patch(location, content=blob).status_code == 202
            done = client.put(location, params={"digest": sha256(blob)})
            assert done.status_code == 201, done.text
            assert client.get(f"/v2/r/blobs/{sha256(blob)}").content == blob
    finally:
        proc.kill()
        proc.wait()
