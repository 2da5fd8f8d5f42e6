"""The registry's filesystem: blobs stored once by digest, repositories as links to them, uploads.

Layout under ``root`` (the layout of CNCF distribution, simplified)::

    blobs/sha256/<hex>                              the bytes, shared by every repository
    repositories/<name>/_layers/sha256/<hex>        empty marker: this repository may serve the blob
    repositories/<name>/_manifests/revisions/sha256/<hex>   holds the manifest's media type
    repositories/<name>/_manifests/tags/<tag>       holds a manifest digest
    repositories/<name>/_referrers/sha256/<subject hex>/<hex>   the referrer's descriptor (JSON)
    uploads/<uuid>/state.json, uploads/<uuid>/data  an upload in progress

Every path is built from components ``routes`` validated. Every write is atomic (temp file in the
same directory, fsync, ``os.replace``): a kill at any moment leaves no partial blob visible.

Uploads are hashed (sha256) as their chunks arrive, so completing one does not read the blob back.
That running hash lives only in this process, keyed by upload id and committed offset; an upload
it does not cover (begun before a restart, or completed with another algorithm) is re-read.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..content.atomic import PRIVATE_DIR, PRIVATE_FILE, atomic_write_bytes, fsync_dir, private_dir
from ..errors import DigestMismatch, InvalidArgument, NotFound
from ..oci.digest import CHUNK, Digest
from .manifests import MAX_MANIFEST_BYTES, ManifestInfo, referenced_digests
from .routes import RangeNotSatisfiable, parse_name, parse_tag, parse_upload_id


@dataclass(frozen=True, slots=True)
class StoredManifest:
    digest: Digest
    media_type: str
    body: bytes


#: The algorithm uploads are hashed with while they arrive (what every client completes with).
RUNNING_HASH = "sha256"
#: Running hashes kept at most (abandoned uploads are never completed; the oldest are dropped).
MAX_RUNNING_HASHES = 1024


class UploadWriter:
    """Appends a request body to an upload; the new offset is committed only if the body completes.

    ``hasher``, when given, is the running hash of the upload's committed bytes (a copy: a body
    that breaks off must not change the committed one); every chunk written also goes into it.
    """

    def __init__(self, stream: BinaryIO, offset: int, hasher: hashlib._Hash | None = None) -> None:
        self._stream, self.start, self.written, self.synced = stream, offset, 0, False
        self.hasher = hasher

    def write(self, chunk: bytes) -> None:
        self._stream.write(chunk)
        if self.hasher is not None:
            self.hasher.update(chunk)
        self.written += len(chunk)
        self.synced = False

    def sync(self) -> None:
        """Flush to disk (slow: an async caller runs it in a thread before leaving the block)."""
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self.synced = True

    @property
    def offset(self) -> int:
        return self.start + self.written


class Storage:
    def __init__(self, root: Path) -> None:
        # Private to the user who serves it (0700/0600): clients go through HTTP and its auth.
        self.root = private_dir(Path(root)).resolve()
        for sub in ("blobs", "repositories", "uploads"):
            private_dir(self.root / sub)
        # upload id -> (committed offset, hash of bytes 0..offset). Chunks append on the event
        # loop's thread, completions run in worker threads: the lock keeps each pair whole.
        self._running: dict[str, tuple[int, hashlib._Hash]] = {}
        self._running_lock = threading.Lock()

    # -- paths (components already validated by routes; checked again because it is cheap) ------
    def _blob_path(self, digest: Digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.encoded

    def _repo(self, name: str) -> Path:
        return self.root / "repositories" / parse_name(name)

    def _layer_link(self, name: str, digest: Digest) -> Path:
        return self._repo(name) / "_layers" / digest.algorithm / digest.encoded

    def _revision(self, name: str, digest: Digest) -> Path:
        return self._repo(name) / "_manifests" / "revisions" / digest.algorithm / digest.encoded

    def _tag(self, name: str, tag: str) -> Path:
        return self._repo(name) / "_manifests" / "tags" / parse_tag(tag)

    def _referrers_dir(self, name: str, subject: Digest) -> Path:
        return self._repo(name) / "_referrers" / subject.algorithm / subject.encoded

    def _upload(self, upload_id: str) -> Path:
        return self.root / "uploads" / parse_upload_id(upload_id)

    # -- repositories --------------------------------------------------------------------------
    def repository_exists(self, name: str) -> bool:
        repo = self._repo(name)
        return (repo / "_layers").is_dir() or (repo / "_manifests").is_dir()

    def _require_repository(self, name: str) -> None:
        if not self.repository_exists(name):
            raise NotFound(f"repository {name} is not known to this registry", code="NAME_UNKNOWN")

    def repositories(self) -> list[str]:
        base = self.root / "repositories"
        found = []
        for dirpath, dirnames, _ in os.walk(base):
            if "_layers" in dirnames or "_manifests" in dirnames:
                found.append(Path(dirpath).relative_to(base).as_posix())
            dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        return sorted(found)

    # -- blobs ---------------------------------------------------------------------------------
    def blob_in_repository(self, name: str, digest: Digest) -> bool:
        linked = self._layer_link(name, digest).exists() or self._revision(name, digest).exists()
        return linked and self._blob_path(digest).is_file()

    def blob_path(self, name: str, digest: Digest) -> Path:
        """The file to serve for a blob GET, if this repository holds it."""
        if not self.blob_in_repository(name, digest):
            raise NotFound(f"blob {digest} is not in repository {name}", code="BLOB_UNKNOWN")
        return self._blob_path(digest)

    def link_blob(self, name: str, digest: Digest) -> None:
        link = self._layer_link(name, digest)
        if not link.exists():
            atomic_write_bytes(link, b"")

    def mount_blob(self, name: str, digest: Digest, source: str) -> bool:
        """Cross-repository mount: link ``source``'s blob into ``name`` without moving any bytes."""
        if not self.blob_in_repository(source, digest):
            return False
        self.link_blob(name, digest)
        return True

    def unlink_blob(self, name: str, digest: Digest) -> None:
        """Forget a blob in one repository; its bytes go at the next garbage collection."""
        link = self._layer_link(name, digest)
        if not link.exists():
            raise NotFound(f"blob {digest} is not in repository {name}", code="BLOB_UNKNOWN")
        link.unlink()

    # -- uploads -------------------------------------------------------------------------------
    def start_upload(self, name: str) -> str:
        parse_name(name)
        upload_id = str(uuid.uuid4())
        path = self._upload(upload_id)
        path.mkdir(mode=PRIVATE_DIR)
        os.close(os.open(path / "data", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE))
        self._save_state(upload_id, name, 0)
        return upload_id

    # -- running hashes of uploads (this process only) ------------------------------------------
    def _remember_hash(self, upload_id: str, offset: int, hasher: hashlib._Hash) -> None:
        with self._running_lock:
            self._running.pop(upload_id, None)
            while len(self._running) >= MAX_RUNNING_HASHES:
                del self._running[next(iter(self._running))]  # the oldest: insertion order
            self._running[upload_id] = (offset, hasher)

    def _running_hash(self, upload_id: str, offset: int, *, take: bool = False) -> hashlib._Hash | None:
        """A copy of the running hash of ``upload_id``'s first ``offset`` bytes, if this process has it.
        With ``take``, the upload's entry is forgotten too (it is being completed)."""
        with self._running_lock:
            entry = self._running.pop(upload_id, None) if take else self._running.get(upload_id)
            if entry is None or entry[0] != offset:
                return None
            return entry[1].copy()

    def _forget_hash(self, upload_id: str) -> None:
        with self._running_lock:
            self._running.pop(upload_id, None)

    def _save_state(self, upload_id: str, name: str, offset: int) -> None:
        atomic_write_bytes(self._upload(upload_id) / "state.json",
                           json.dumps({"name": name, "offset": offset}).encode())

    def upload_offset(self, name: str, upload_id: str) -> int:
        """Bytes committed so far; an unknown id, or one of another repository, is BLOB_UPLOAD_UNKNOWN."""
        try:
            state = json.loads((self._upload(upload_id) / "state.json").read_bytes())
        except (OSError, ValueError):
            state = None
        if not isinstance(state, dict) or state.get("name") != name:
            raise NotFound(f"upload {upload_id} is not in progress in {name}", code="BLOB_UPLOAD_UNKNOWN")
        return int(state["offset"])

    @contextlib.contextmanager
    def upload_writer(self, name: str, upload_id: str, start: int | None = None,
                      length: int | None = None) -> Iterator[UploadWriter]:
        """Append to an upload at ``start`` (default: where it stands); commit only a complete chunk."""
        offset = self.upload_offset(name, upload_id)
        if start is not None and start != offset:
            raise RangeNotSatisfiable(f"chunk starts at {start} but the upload holds {offset} bytes")
        with open(self._upload(upload_id) / "data", "r+b") as stream:
            try:
                fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RangeNotSatisfiable(f"upload {upload_id} is receiving another chunk") from None
            stream.truncate(offset)  # drop bytes of an earlier chunk that never completed
            stream.seek(offset)
            running = hashlib.new(RUNNING_HASH) if offset == 0 else self._running_hash(upload_id, offset)
            writer = UploadWriter(stream, offset, running)
            yield writer
            if length is not None and writer.written != length:
                raise InvalidArgument(f"chunk declared {length} bytes but carried {writer.written}",
                                      code="BLOB_UPLOAD_INVALID")
            if not writer.synced:
                writer.sync()
        self._save_state(upload_id, name, writer.offset)
        if writer.hasher is not None:
            self._remember_hash(upload_id, writer.offset, writer.hasher)

    def complete_upload(self, name: str, upload_id: str, digest: Digest) -> int:
        """Verify the upload against ``digest``, move it into ``blobs/`` and link it; return its size.

        On a mismatch the upload is discarded and nothing is stored.
        """
        size = self.upload_offset(name, upload_id)
        data = self._upload(upload_id) / "data"
        hasher = self._running_hash(upload_id, size, take=True) if digest.algorithm == RUNNING_HASH else None
        if hasher is None:  # begun before this process started, or another algorithm: read it back
            hasher = self._hash_file(data, digest)
        if hasher.hexdigest() != digest.encoded:
            self.cancel_upload(name, upload_id)
            raise DigestMismatch(f"uploaded content does not match digest {digest}")
        target = self._blob_path(digest)
        if not target.is_file():
            private_dir(target.parent)
            os.replace(data, target)  # same filesystem; the data was fsynced when its chunk committed
            fsync_dir(target.parent)
        self.link_blob(name, digest)
        self.cancel_upload(name, upload_id)
        return size

    @staticmethod
    def _hash_file(data: Path, digest: Digest) -> hashlib._Hash:
        hasher = digest.hasher()
        with open(data, "rb") as stream:
            while chunk := stream.read(CHUNK):
                hasher.update(chunk)
        return hasher

    def cancel_upload(self, name: str, upload_id: str) -> None:
        self.upload_offset(name, upload_id)
        self._forget_hash(upload_id)
        path = self._upload(upload_id)
        (path / "state.json").unlink()  # the upload is gone the moment its state is
        shutil.rmtree(path, ignore_errors=True)

    # -- manifests -----------------------------------------------------------------------------
    def put_manifest(self, name: str, info: ManifestInfo, body: bytes, tags: tuple[str, ...] = ()) -> None:
        target = self._blob_path(info.digest)
        if not target.is_file():
            atomic_write_bytes(target, body)
        atomic_write_bytes(self._revision(name, info.digest), info.media_type.encode())
        if info.subject is not None:
            entry = json.dumps(info.referrer_descriptor(), sort_keys=True).encode()
            atomic_write_bytes(self._referrers_dir(name, info.subject) / info.digest.encoded, entry)
        for tag in tags:
            atomic_write_bytes(self._tag(name, tag), str(info.digest).encode())

    def has_manifest(self, name: str, digest: Digest) -> bool:
        return self._revision(name, digest).is_file() and self._blob_path(digest).is_file()

    def resolve(self, name: str, reference: str) -> Digest:
        """A tag or digest reference to the digest of a manifest this repository holds."""
        self._require_repository(name)
        if ":" in reference:
            digest = Digest.parse(reference)
        else:
            try:
                digest = Digest.parse(self._tag(name, reference).read_text())
            except (FileNotFoundError, InvalidArgument):
                raise NotFound(f"manifest {name}:{reference} is not known", code="MANIFEST_UNKNOWN") from None
        if not self.has_manifest(name, digest):
            raise NotFound(f"manifest {name}@{digest} is not known", code="MANIFEST_UNKNOWN")
        return digest

    def get_manifest(self, name: str, reference: str) -> StoredManifest:
        digest = self.resolve(name, reference)
        media_type = self._revision(name, digest).read_text()
        return StoredManifest(digest, media_type, self._blob_path(digest).read_bytes())

    def tags(self, name: str) -> list[str]:
        self._require_repository(name)
        tag_dir = self._repo(name) / "_manifests" / "tags"
        return sorted(p.name for p in tag_dir.iterdir() if not p.name.startswith(".")) if tag_dir.is_dir() else []

    def delete_tag(self, name: str, tag: str) -> None:
        self._require_repository(name)
        try:
            self._tag(name, tag).unlink()
        except FileNotFoundError:
            raise NotFound(f"tag {name}:{tag} is not known", code="MANIFEST_UNKNOWN") from None

    def delete_manifest(self, name: str, digest: Digest) -> None:
        """Remove a manifest from a repository, with every tag that pointed at it."""
        self.resolve(name, str(digest))
        for tag in self.tags(name):
            with contextlib.suppress(FileNotFoundError, InvalidArgument):
                if Digest.parse(self._tag(name, tag).read_text()) == digest:
                    self._tag(name, tag).unlink()
        body = self._blob_path(digest).read_bytes()
        subject = json.loads(body).get("subject") if body.startswith(b"{") else None
        if isinstance(subject, dict):
            with contextlib.suppress(InvalidArgument, FileNotFoundError, TypeError):
                (self._referrers_dir(name, Digest.parse(str(subject.get("digest")))) / digest.encoded).unlink()
        self._revision(name, digest).unlink()

    def referrers(self, name: str, subject: Digest) -> list[dict[str, object]]:
        """Descriptors of the manifests in ``name`` whose ``subject`` is ``subject``, oldest first."""
        folder = self._referrers_dir(name, subject)
        if not folder.is_dir():
            return []
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")),
                         key=lambda p: (p.stat().st_mtime_ns, p.name))
        found = []
        for entry in entries:
            descriptor = json.loads(entry.read_bytes())
            if self.has_manifest(name, Digest.parse(descriptor["digest"])):
                found.append(descriptor)
        return found

    # -- garbage collection --------------------------------------------------------------------
    def contents(self) -> list[tuple[str, list[str], list[tuple[str, int]]]]:
        """Each repository with its tags and the blobs its tagged manifests use (for diagrams)."""
        found = []
        for name in self.repositories():
            tags = self.tags(name)
            blobs: set[tuple[str, int]] = set()
            for tag in tags:
                try:
                    stored = self.get_manifest(name, tag)
                except NotFound:
                    continue
                layer_digests, _children = referenced_digests(stored.body)
                for text in layer_digests:
                    with contextlib.suppress(InvalidArgument, FileNotFoundError):
                        blobs.add((text, self._blob_path(Digest.parse(text)).stat().st_size))
            found.append((name, tags, sorted(blobs)))
        return found

    def garbage_collect(self) -> tuple[int, int]:
        """Delete blobs no manifest in any repository references; return (blobs removed, bytes freed).

        Run it while nothing pushes (like ``registry garbage-collect``): a blob uploaded for a
        manifest not yet pushed is unreferenced, and would be swept.
        """
        pending = [f"{p.parent.name}:{p.name}" for name in self.repositories()
                   for p in (self._repo(name) / "_manifests" / "revisions").glob("*/[!.]*")]
        marked: set[str] = set()
        while pending:  # manifests lead to more manifests (an index's children, a referrer's subject)
            digest = pending.pop()
            if digest in marked:
                continue
            marked.add(digest)
            try:
                blob = self._blob_path(Digest.parse(digest))  # text from a stored body: check it
            except InvalidArgument:
                continue
            if blob.is_file() and blob.stat().st_size <= MAX_MANIFEST_BYTES:
                blobs, manifests = referenced_digests(blob.read_bytes())
                marked |= blobs
                pending += manifests
        removed = freed = 0
        for blob in (self.root / "blobs").glob("*/*"):
            if f"{blob.parent.name}:{blob.name}" in marked or not blob.is_file():
                continue
            size = blob.stat().st_size
            blob.unlink()
            removed, freed = removed + 1, freed + size
        for link in (self.root / "repositories").glob("**/_layers/*/*"):
            if not (self.root / "blobs" / link.parent.name / link.name).exists():
                link.unlink()
        # Atomic writes a crash cut short (".<name>.<random>.tmp", never renamed into place).
        for stray in (self.root / "repositories").glob("**/_manifests/*/**/.*.tmp"):
            stray.unlink(missing_ok=True)
        return removed, freed
