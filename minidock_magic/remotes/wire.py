"""The wire-level pieces of the client: which scheme a host gets, replayable upload bodies, and
turning a registry's answer (or silence) into one ``MinidockError`` line.

>>> is_insecure("localhost:5000"), is_insecure("127.0.0.1"), is_insecure("ghcr.io")
(True, True, False)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import httpx

from ..errors import (
    Denied,
    DigestMismatch,
    InvalidArgument,
    MinidockError,
    NotFound,
    Unauthorized,
    Unavailable,
    Unsupported,
    error_for_status,
)
from ..oci.digest import Digest
from ..oci.reference import PATH_GRAMMAR
from .credentials import Credential

PIECE = 1 << 20
_LOCAL = ("localhost", "127.0.0.1", "[::1]", "::1")
INSECURE_ENV = "MINIDOCK_INSECURE_REGISTRIES"

_BY_CODE: dict[str, type[MinidockError]] = {
    "UNAUTHORIZED": Unauthorized, "DENIED": Denied, "NAME_UNKNOWN": NotFound,
    "MANIFEST_UNKNOWN": NotFound, "BLOB_UNKNOWN": NotFound, "BLOB_UPLOAD_UNKNOWN": NotFound,
    "DIGEST_INVALID": DigestMismatch, "SIZE_INVALID": InvalidArgument, "NAME_INVALID": InvalidArgument,
    "TAG_INVALID": InvalidArgument, "MANIFEST_INVALID": InvalidArgument,
    "MANIFEST_BLOB_UNKNOWN": InvalidArgument, "BLOB_UPLOAD_INVALID": InvalidArgument,
    "UNSUPPORTED": Unsupported, "TOOMANYREQUESTS": Unavailable,
}


def is_insecure(host: str) -> bool:
    """docker's rule: plain http for loopback (any port), or for hosts the user listed as insecure."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name in _LOCAL or name.startswith("127.") or name.endswith(".localhost"):
        return True
    listed = os.environ.get(INSECURE_ENV, "")
    return host in {h.strip() for h in listed.split(",") if h.strip()}


def api_host(host: str) -> str:
    return "registry-1.docker.io" if host == "docker.io" else host


def check_repo(repo: str) -> str:
    if not PATH_GRAMMAR.fullmatch(repo):
        raise InvalidArgument(f"invalid repository name {repo!r}")
    return repo


class Upload:
    """A request body httpx can send again (after a 401, or on a new connection when a kept-alive
    one was dropped): it re-reads the file from ``start``. In ``PIECE``s: a buffered file reads a
    request that large straight into the bytes it returns, and the transport sends each as is."""

    def __init__(self, stream: BinaryIO, start: int, size: int, advance: Callable[[int], None]) -> None:
        self.stream, self.start, self.size, self.advance = stream, start, size, advance
        self._reported = 0

    def __iter__(self) -> Iterator[bytes]:
        self.stream.seek(self.start)
        sent = 0
        while sent < self.size:
            piece = self.stream.read(min(PIECE, self.size - sent))
            if not piece:
                raise InvalidArgument(f"blob ended after {sent} of {self.size} bytes")
            sent += len(piece)
            if sent > self._reported:  # a re-send does not move the bar backwards or twice
                self.advance(sent - self._reported)
                self._reported = sent
            yield piece


def read_limited(response: httpx.Response, limit: int) -> bytes | None:
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def spec_error(response: httpx.Response) -> tuple[str | None, str | None]:
    """``errors[0].code`` and ``.message`` of a spec error body, when there is one."""
    try:
        errors = json.loads(response.content).get("errors")
        first = errors[0]
        code, message = first.get("code"), first.get("message")
        return (code if isinstance(code, str) else None,
                " ".join(str(message).split())[:200] if message else None)
    except (ValueError, AttributeError, TypeError, IndexError, KeyError, httpx.ResponseNotRead):
        return None, None


def json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        raise MinidockError(f"{response.request.url.host} sent something that is not JSON") from None
    return data if isinstance(data, dict) else {}


def upload_location(response: httpx.Response, what: str) -> httpx.URL:
    if "location" not in response.headers:
        raise MinidockError(f"cannot {what}: the registry gave no Location for the upload")
    return response.request.url.join(response.headers["location"])


def check_digest(response: httpx.Response, digest: Digest, what: str) -> None:
    declared = response.headers.get("docker-content-digest", "")
    if declared.startswith("sha256:") and declared != str(digest):
        raise DigestMismatch(f"cannot {what}: the registry stored {declared}, we sent {digest}")


def registry_error(response: httpx.Response, what: str, host: str,
                   credential: Credential | None) -> MinidockError:
    """The one-line error for an answer we did not expect, by the spec's error code first."""
    code, message = spec_error(response)
    hint = "minidock login" if host == "docker.io" else f"minidock login {host}"
    if response.status_code == 401 or code == "UNAUTHORIZED":
        if credential is None:
            return Unauthorized(f"unauthorized: authentication required to {what} — run '{hint}'")
        return Unauthorized(f"unauthorized: {host} refused the login of {credential.username!r} to "
                            f"{what} — run '{hint}' again")
    detail = code.lower().replace("_", " ") if code else f"{response.status_code} {response.reason_phrase}"
    if message and message.lower() != detail:
        detail += f": {message}"
    text = f"cannot {what}: {detail}"
    error = _BY_CODE.get(code or "")
    return error(text, code=code) if error else error_for_status(response.status_code, text)


def unavailable(exc: httpx.RequestError, host: str, base_url: str) -> Unavailable:
    """No answer at all: name the host, and say what to check."""
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and ("SSL" in reason or "certificate" in reason.lower()):
        return Unavailable(f"cannot talk TLS to registry {host} ({reason.splitlines()[0]}): if it "
                           f"serves plain http, list it in {INSECURE_ENV}")
    if isinstance(exc, httpx.ConnectError):
        why = "connection refused" if "refused" in reason.lower() else reason.splitlines()[0]
        return Unavailable(f"cannot reach registry {host} at {base_url}: {why} — is it running?")
    if isinstance(exc, httpx.TimeoutException):
        return Unavailable(f"registry {host} did not answer in time ({type(exc).__name__})")
    return Unavailable(f"connection to registry {host} failed: {reason.splitlines()[0]}")
