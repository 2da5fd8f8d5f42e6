"""``RegistryClient``: the OCI distribution API of one registry, over one ``httpx.Client``.

Every call is one or two spec requests a student can see with ``--trace``; every failure becomes
one ``MinidockError`` with one line saying what went wrong and, where there is one, what to do.
Blob downloads stream into a ``BlobWriter``, which verifies digest and size before anything
becomes visible in the content store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import BinaryIO

import httpx

from ..content.store import BlobInfo, BlobWriter
from ..errors import DigestMismatch, TooLarge
from ..oci import mediatypes as mt
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from ..oci.manifest import parse_any
from ..oci.reference import Reference
from .auth import RegistryAuth
from .credentials import Credential, server_host
from .trace import Sink, Trace
from .transport import StdlibTransport
from .wire import (
    Upload,
    api_host,
    check_digest,
    check_repo,
    is_insecure,
    json_object,
    read_limited,
    registry_error,
    unavailable,
    upload_location,
)

MANIFEST_ACCEPT = ", ".join([mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST])
#: containerd's limit: a manifest is metadata, anything bigger is a mistake or an attack.
MAX_MANIFEST = 4 << 20
#: Blobs up to this size go up in one PUT; larger ones stream in a PATCH (one connection, and a
#: registry could report how far it got), then a PUT closes the upload.
MONOLITHIC_MAX = 8 << 20
#: Layers moved at once, either way (docker's and skopeo's default is 3). On this 2-core host it
#: paid for a pull of a 10-layer image (0.59x the time one by one) and a 3-layer one (0.86x): the
#: waits on the registry and each blob's fsync overlap (``python -m benchmarks --only transport``).
PARALLEL_LAYERS = 3


def layers_at_once(trace: object | None) -> int:
    """``PARALLEL_LAYERS``, or one at a time when the exchanges are traced: a trace is read line
    by line, each request next to its answer, in the same order every time."""
    return PARALLEL_LAYERS if trace is None else 1


class RegistryClient:
    def __init__(self, host: str, *, credentials: Credential | None = None, insecure: bool | None = None,
                 trace: Sink | None = None, transport: httpx.BaseTransport | None = None,
                 monolithic_max: int = MONOLITHIC_MAX, timeout: float = 60.0) -> None:
        self.host = server_host(host)
        self.credential = credentials
        self.monolithic_max = monolithic_max
        scheme = "http" if (is_insecure(self.host) if insecure is None else insecure) else "https"
        self.base_url = f"{scheme}://{api_host(self.host)}"
        self.auth = RegistryAuth(credentials)
        hooks = Trace(trace, home=api_host(self.host)).hooks() if trace is not None else {}
        self._sessions: dict[str, httpx.URL] = {}  # repo -> an upload a failed mount left open
        # Our own transport unless a test brings one (MockTransport): 2x faster bodies and no
        # httpcore import (see its doc). It loads a CA bundle only when it first talks https, so
        # an insecure (plain-http) registry, as docker's insecure-registries, costs none.
        # ``verify`` still reaches the transports httpx makes for proxies from the environment.
        self._http = httpx.Client(base_url=self.base_url, auth=self.auth, event_hooks=hooks,
                                  transport=transport or StdlibTransport(), follow_redirects=True,
                                  verify=scheme == "https",
                                  timeout=httpx.Timeout(timeout, connect=10.0),
                                  headers={"User-Agent": "minidock"})

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _open(self, method: str, url: str | httpx.URL, *, ok: tuple[int, ...], what: str,
              **kwargs: object) -> Iterator[httpx.Response]:
        try:
            with self._http.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
                if response.status_code not in ok:
                    response.read()  # error bodies are small JSON; the message is in there
                    raise registry_error(response, what, self.host, self.credential)
                yield response
        except httpx.RequestError as exc:
            raise unavailable(exc, self.host, self.base_url) from None

    def _call(self, method: str, url: str | httpx.URL, *, ok: tuple[int, ...] = (200,), what: str,
              **kwargs: object) -> httpx.Response:
        with self._open(method, url, ok=ok, what=what, **kwargs) as response:
            response.read()
            return response

    def intend(self, scope: str) -> None:
        """Ask for ``scope`` with every token from now on (``repository:me/app:pull,push``)."""
        if scope not in self.auth.intended:
            self.auth.intended.append(scope)

    # -- the API -------------------------------------------------------------------------------
    def ping(self) -> None:
        """GET /v2/: is this a registry, and (with a login) will it let us in?"""
        self._call("GET", "/v2/", what=f"log in to {self.host}")

    def resolve(self, reference: Reference) -> tuple[Descriptor, bytes]:
        """The manifest or index a tag (or digest) names, with its exact bytes."""
        name = str(reference.digest) if reference.digest else (reference.tag or "latest")
        return self.get_manifest(reference.path, name, expected=reference.digest)

    def head_manifest(self, reference: Reference) -> Descriptor | None:
        """What a tag points at, without downloading it (HEADs are free of Docker Hub's pull limits)."""
        name = str(reference.digest) if reference.digest else (reference.tag or "latest")
        response = self._call("HEAD", f"/v2/{check_repo(reference.path)}/manifests/{name}",
                              ok=(200, 404), what=f"pull {reference}",
                              headers={"Accept": MANIFEST_ACCEPT})
        digest = response.headers.get("docker-content-digest")
        if response.status_code == 404 or not digest:
            return None
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        return Descriptor(media_type, Digest.parse(digest), int(response.headers.get("content-length", 0)))

    def get_manifest(self, repo: str, reference: str, *,
                     expected: Digest | None = None) -> tuple[Descriptor, bytes]:
        what = f"pull {self.host}/{repo}{'@' if reference.startswith('sha256:') else ':'}{reference}"
        with self._open("GET", f"/v2/{check_repo(repo)}/manifests/{reference}", ok=(200,), what=what,
                        headers={"Accept": MANIFEST_ACCEPT}) as response:
            raw = read_limited(response, MAX_MANIFEST)
            if raw is None:
                raise TooLarge(f"cannot {what}: manifest is larger than {MAX_MANIFEST} bytes")
            declared = response.headers.get("docker-content-digest", "")
            content_type = response.headers.get("content-type", "").split(";")[0].strip()
        digest = Digest.of(raw)
        if expected is not None and digest != expected:
            raise DigestMismatch(f"cannot {what}: the registry sent a manifest whose digest is {digest}")
        if declared.startswith("sha256:") and Digest.parse(declared) != digest:
            raise DigestMismatch(f"cannot {what}: Docker-Content-Digest {declared} is not the digest "
                                 f"of the bytes sent ({digest})")
        if content_type not in mt.MANIFEST_TYPES | mt.INDEX_TYPES:
            content_type = parse_any(raw).media_type  # some registries answer application/json
        return Descriptor(content_type, digest, len(raw)), raw

    def get_blob(self, repo: str, descriptor: Descriptor, writer: BlobWriter,
                 progress: Callable[[int], None] | None = None) -> BlobInfo:
        """Stream a blob into ``writer`` and commit it (verified), or abort it on any failure."""
        what = f"pull blob {descriptor.digest.short} from {self.host}/{repo}"
        try:
            with self._open("GET", f"/v2/{check_repo(repo)}/blobs/{descriptor.digest}", ok=(200,),
                            what=what) as response:
                # Registries do not content-encode blobs; should one, its length is of the
                # encoded bytes and the digest of the decoded ones.
                encoded = "content-encoding" in response.headers
                length = response.headers.get("content-length")
                if (not encoded and length is not None and length.isdigit()
                        and int(length) != descriptor.size):
                    raise DigestMismatch(f"cannot {what}: the registry offers {length} bytes, the "
                                         f"manifest says {descriptor.size}")
                # Else the transport's 1 MiB pieces as they come: iter_bytes would run each
                # through a decoder and a chunker. (A response read already, as MockTransport's
                # are, has only iter_bytes left.)
                raw = not encoded and not response.is_stream_consumed
                for chunk in response.iter_raw() if raw else response.iter_bytes():
                    writer.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
            return writer.commit()
        except DigestMismatch as exc:
            writer.abort()
            raise DigestMismatch(f"blob {descriptor.digest.short} from {self.host}/{repo} is corrupt: "
                                 f"{exc}") from None
        finally:
            writer.abort()  # no-op after a commit; removes the temp file after anything else

    def has_blob(self, repo: str, digest: Digest) -> bool:
        response = self._call("HEAD", f"/v2/{check_repo(repo)}/blobs/{digest}", ok=(200, 404),
                              what=f"push to {self.host}/{repo}")
        return response.status_code == 200

    def mount_blob(self, repo: str, digest: Digest, from_repo: str) -> bool:
        """Ask the registry to link a blob it already holds in ``from_repo`` (no bytes sent)."""
        response = self._call("POST", f"/v2/{check_repo(repo)}/blobs/uploads/", ok=(201, 202),
                              what=f"push to {self.host}/{repo}",
                              params={"mount": str(digest), "from": check_repo(from_repo)})
        if response.status_code == 202 and "location" in response.headers:
            # Refused (no access to from_repo, or it has no such blob): the registry opened an
            # ordinary upload instead, which the next push_blob to this repo uses.
            self._sessions[repo] = response.request.url.join(response.headers["location"])
        return response.status_code == 201

    def push_blob(self, repo: str, descriptor: Descriptor, stream: BinaryIO,
                  progress: Callable[[int], None] | None = None) -> None:
        what = f"push to {self.host}/{repo}"
        advance = progress or (lambda n: None)
        location = self._sessions.pop(repo, None) or self._start_upload(repo, what)
        size = descriptor.size
        if size > self.monolithic_max:
            response = self._call("PATCH", location, ok=(202,), what=what,
                                  content=Upload(stream, 0, size, advance),
                                  headers={"Content-Type": "application/octet-stream",
                                           "Content-Length": str(size), "Content-Range": f"0-{size - 1}"})
            location = upload_location(response, what)
            body, length = Upload(stream, 0, 0, advance), 0
        else:
            body, length = Upload(stream, 0, size, advance), size
        response = self._call("PUT", location.copy_merge_params({"digest": str(descriptor.digest)}),
                              ok=(201,), what=what, content=body,
                              headers={"Content-Type": "application/octet-stream",
                                       "Content-Length": str(length)})
        check_digest(response, descriptor.digest, what)

    def _start_upload(self, repo: str, what: str) -> httpx.URL:
        return upload_location(self._call("POST", f"/v2/{check_repo(repo)}/blobs/uploads/", ok=(202,),
                                    what=what), what)

    def put_manifest(self, repo: str, reference: str, raw: bytes, media_type: str) -> Digest:
        what = f"push to {self.host}/{repo}"
        response = self._call("PUT", f"/v2/{check_repo(repo)}/manifests/{reference}", ok=(201,),
                              what=what, content=raw, headers={"Content-Type": media_type})
        digest = Digest.of(raw)
        check_digest(response, digest, what)
        return digest

    def delete_manifest(self, repo: str, digest: Digest) -> None:
        self._call("DELETE", f"/v2/{check_repo(repo)}/manifests/{digest}", ok=(202,),
                   what=f"delete {self.host}/{repo}@{digest}")

    def tags(self, repo: str, n: int | None = None) -> list[str]:
        return self._pages(f"/v2/{check_repo(repo)}/tags/list", "tags", n, f"list tags of {self.host}/{repo}")

    def catalog(self, n: int | None = None) -> list[str]:
        return self._pages("/v2/_catalog", "repositories", n, f"list the repositories of {self.host}")

    def _pages(self, path: str, key: str, n: int | None, what: str) -> list[str]:
        """Follow ``Link: <…>; rel="next"`` until the registry has no more pages."""
        found: list[str] = []
        url: str | httpx.URL | None = path
        params: dict[str, str] | None = {"n": str(n)} if n else None
        seen: set[str] = set()
        while url is not None and str(url) not in seen and len(seen) < 10_000:
            seen.add(str(url))
            # httpx replaces a URL's query with any params given, even {}: the next link
            # carries its own n and last, so it gets none.
            response = self._call("GET", url, what=what, params=params)
            params = None
            items = json_object(response).get(key) or []
            found += [item for item in items if isinstance(item, str)]
            link = response.links.get("next", {}).get("url")
            url = response.request.url.join(link) if link else None
        return found

    def hub_search(self, term: str, limit: int = 25) -> list[dict[str, object]]:
        """Docker Hub's own search (its registry has no catalog): name, description, stars."""
        response = self._call("GET", "https://index.docker.io/v1/search", what=f"search {self.host}",
                              params={"q": term, "n": str(limit)})
        results = json_object(response).get("results") or []
        return [r for r in results if isinstance(r, dict)]

