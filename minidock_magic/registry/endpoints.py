"""One async handler per distribution-spec endpoint: thin I/O between ``routes``, ``manifests`` and ``storage``.

Request bodies are streamed to disk chunk by chunk; only manifests (at most 4 MiB) are read whole.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from ..errors import DigestMismatch, InvalidArgument, MinidockError, NotFound, TooLarge
from ..oci.digest import Digest
from . import manifests
from .auth import Auth, Identity
from .routes import (
    Endpoint,
    RangeNotSatisfiable,
    Route,
    paginate,
    parse_content_range,
    parse_name,
    parse_tag,
    valid_byte_ranges,
)
from .storage import Storage

JSON = "application/json"


@dataclass
class Registry:
    storage: Storage
    auth: Auth


Handler = Callable[[Registry, Request, Route, Identity], Awaitable[Response]]


def _json(doc: object, *, status: int = 200, headers: dict[str, str] | None = None,
          media_type: str = JSON) -> Response:
    return Response(json.dumps(doc, indent=2).encode(), status, headers, media_type)


def _blob_location(name: str, digest: Digest) -> dict[str, str]:
    return {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": str(digest)}


def _upload_headers(reg: Registry, name: str, upload_id: str) -> dict[str, str]:
    offset = reg.storage.upload_offset(name, upload_id)
    return {"Location": f"/v2/{name}/blobs/uploads/{upload_id}", "Range": f"0-{max(offset - 1, 0)}",
            "Docker-Upload-UUID": upload_id}


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise InvalidArgument(f"invalid Content-Length {value[:20]!r}", code="SIZE_INVALID")
    return int(value)


async def _append(reg: Registry, request: Request, name: str, upload_id: str) -> None:
    """Stream the request body onto the upload, honouring and checking a Content-Range."""
    content_range = request.headers.get("content-range")
    length = _content_length(request)
    start = None
    try:
        if content_range is not None:
            start, end = parse_content_range(content_range)
            if length is not None and length != end - start + 1:
                raise RangeNotSatisfiable(f"Content-Range {content_range} does not match Content-Length {length}")
            length = end - start + 1
        with reg.storage.upload_writer(name, upload_id, start, length) as writer:
            async for chunk in request.stream():
                writer.write(chunk)
            await anyio.to_thread.run_sync(writer.sync)
    except RangeNotSatisfiable as error:
        error.headers.update(_upload_headers(reg, name, upload_id))
        raise


async def _finish(reg: Registry, name: str, upload_id: str, digest: Digest) -> Response:
    await anyio.to_thread.run_sync(reg.storage.complete_upload, name, upload_id, digest)
    return Response(status_code=201, headers=_blob_location(name, digest))


def _digest_param(request: Request) -> Digest:
    value = request.query_params.get("digest")
    if not value:
        raise InvalidArgument("the digest query parameter is required to complete an upload", code="DIGEST_INVALID")
    return Digest.parse(value)


async def base(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    return _json({})


async def catalog(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    q = request.query_params
    # Only what the asker may pull: a private repository's name is not shown to others either.
    visible = [name for name in reg.storage.repositories()
               if "pull" in reg.auth.allowed(identity.user, "repository", name)]
    names, more = paginate(visible, q.get("n"), q.get("last"))
    headers = {}
    if more:
        headers["Link"] = f'</v2/_catalog?n={len(names)}&last={quote(names[-1], safe="")}>; rel="next"'
    return _json({"repositories": names}, headers=headers)


async def tags(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    name, q = route.name or "", request.query_params
    page, more = paginate(reg.storage.tags(name), q.get("n"), q.get("last"))
    headers = {}
    if more:
        headers["Link"] = f'</v2/{name}/tags/list?n={len(page)}&last={quote(page[-1], safe="")}>; rel="next"'
    return _json({"name": name, "tags": page}, headers=headers)


class BlobResponse(FileResponse):
    # starlette reads 64 KiB per worker-thread round trip; 1 MiB pieces made a 110 MB pull 1.4x faster.
    chunk_size = 1 << 20

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        """RFC 9110 §14.2: a Range the server does not understand — another unit, not the
        ``bytes`` grammar, a last byte before the first — is ignored (``[]``: the whole blob,
        200) where starlette answers 400; a valid range that misses the blob is still 416."""
        if not valid_byte_ranges(http_range):
            return []
        return super()._parse_range_header(http_range, file_size)  # type: ignore[no-any-return]


async def get_blob(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.digest
    path = reg.storage.blob_path(route.name, route.digest)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise NotFound(f"blob {route.digest} is not in repository {route.name}", code="BLOB_UNKNOWN") from None
    headers = {"Docker-Content-Digest": str(route.digest), "ETag": f'"{route.digest}"',
               "Cache-Control": "max-age=31536000"}
    return BlobResponse(path, headers=headers, media_type="application/octet-stream", stat_result=stat)


async def delete_blob(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.digest
    reg.storage.unlink_blob(route.name, route.digest)
    return Response(status_code=202)


async def get_manifest(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.reference
    stored = reg.storage.get_manifest(route.name, route.reference)
    headers = {"Docker-Content-Digest": str(stored.digest), "ETag": f'"{stored.digest}"'}
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(stored.body))
        return Response(b"", 200, headers, stored.media_type)
    return Response(stored.body, 200, headers, stored.media_type)


async def _read_manifest(request: Request) -> bytes:
    length = _content_length(request)
    if length is not None and length > manifests.MAX_MANIFEST_BYTES:
        raise TooLarge(f"manifest is {length} bytes; the limit is {manifests.MAX_MANIFEST_BYTES}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > manifests.MAX_MANIFEST_BYTES:
            raise TooLarge(f"manifest is larger than the limit of {manifests.MAX_MANIFEST_BYTES} bytes")
    return bytes(body)


async def put_manifest(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.reference
    name, store = route.name, reg.storage
    body = await _read_manifest(request)
    info = manifests.validate(body, request.headers.get("content-type"))
    if route.digest is not None and route.digest != info.digest:
        raise DigestMismatch(f"manifest digest is {info.digest}, not {route.digest} as the URL says")
    manifests.check_references(info, lambda d: store.blob_in_repository(name, d),
                               lambda d: store.has_manifest(name, d))
    tags = tuple(parse_tag(t) for t in ([route.tag] if route.tag else []) + request.query_params.getlist("tag"))
    await anyio.to_thread.run_sync(store.put_manifest, name, info, body, tags)
    headers = {"Location": f"/v2/{name}/manifests/{info.digest}", "Docker-Content-Digest": str(info.digest)}
    if info.subject is not None:
        headers["OCI-Subject"] = str(info.subject)
    return Response(status_code=201, headers=headers)


async def delete_manifest(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.reference
    if route.digest is not None:
        reg.storage.delete_manifest(route.name, route.digest)
    else:
        reg.storage.delete_tag(route.name, route.reference)
    return Response(status_code=202)


async def referrers(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.digest
    found = reg.storage.referrers(route.name, route.digest)
    headers = {}
    wanted = request.query_params.get("artifactType")
    if wanted:
        found = [d for d in found if d.get("artifactType") == wanted]
        headers["OCI-Filters-Applied"] = "artifactType"
    index = {"schemaVersion": 2, "mediaType": manifests.OCI_INDEX, "manifests": found}
    return _json(index, headers=headers, media_type=manifests.OCI_INDEX)


async def start_upload(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name
    upload_id = reg.storage.start_upload(route.name)
    return Response(status_code=202, headers=_upload_headers(reg, route.name, upload_id))


async def monolithic_upload(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name
    digest = _digest_param(request)
    upload_id = reg.storage.start_upload(route.name)
    try:
        length = _content_length(request)
        with reg.storage.upload_writer(route.name, upload_id, None, length) as writer:
            async for chunk in request.stream():
                writer.write(chunk)
            await anyio.to_thread.run_sync(writer.sync)
        return await _finish(reg, route.name, upload_id, digest)
    except BaseException:
        with contextlib.suppress(NotFound):  # already discarded by a failed completion
            reg.storage.cancel_upload(route.name, upload_id)
        raise


async def mount_blob(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name
    q = request.query_params
    try:
        digest, source = Digest.parse(q["mount"]), parse_name(q["from"])
    except MinidockError:  # a mount that cannot happen is an ordinary upload (spec: fall back)
        return await start_upload(reg, request, route, identity)
    if reg.auth.permits(identity, "repository", source, "pull") and reg.storage.mount_blob(route.name, digest, source):
        return Response(status_code=201, headers=_blob_location(route.name, digest))
    return await start_upload(reg, request, route, identity)


async def patch_upload(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.upload_id
    await _append(reg, request, route.name, route.upload_id)
    return Response(status_code=202, headers=_upload_headers(reg, route.name, route.upload_id))


async def complete_upload(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.upload_id
    digest = _digest_param(request)
    await _append(reg, request, route.name, route.upload_id)
    return await _finish(reg, route.name, route.upload_id, digest)


async def upload_status(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.upload_id
    return Response(status_code=204, headers=_upload_headers(reg, route.name, route.upload_id))


async def cancel_upload(reg: Registry, request: Request, route: Route, identity: Identity) -> Response:
    assert route.name and route.upload_id
    reg.storage.cancel_upload(route.name, route.upload_id)
    return Response(status_code=204)


HANDLERS: dict[Endpoint, Handler] = {
    Endpoint.BASE: base, Endpoint.CATALOG: catalog, Endpoint.TAGS: tags,
    Endpoint.BLOB: get_blob, Endpoint.BLOB_DELETE: delete_blob,
    Endpoint.MANIFEST: get_manifest, Endpoint.MANIFEST_PUT: put_manifest, Endpoint.MANIFEST_DELETE: delete_manifest,
    Endpoint.REFERRERS: referrers, Endpoint.UPLOAD_START: start_upload, Endpoint.UPLOAD_MONOLITHIC: monolithic_upload,
    Endpoint.BLOB_MOUNT: mount_blob, Endpoint.UPLOAD_CHUNK: patch_upload, Endpoint.UPLOAD_COMPLETE: complete_upload,
    Endpoint.UPLOAD_STATUS: upload_status, Endpoint.UPLOAD_CANCEL: cancel_upload,
}
