"""``--trace``: one line per HTTP request and response, because the protocol itself is the lesson.

::

    > GET /v2/me/busybox/manifests/1 Authorization: Bearer ***
    < 200 OK application/vnd.oci.image.manifest.v1+json 527B Docker-Content-Digest: sha256:…

Secrets never reach the trace: an ``Authorization`` header shows only its scheme, query parameters
that look like signatures or tokens are masked, and no body is ever printed (so neither a token
server's answer nor a password can leak into a notebook someone shares).

>>> redact_authorization("Bearer eyJhbGciOi.secret"), redact_authorization("Basic dTpw")
('Bearer ***', 'Basic ***')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import IO, Any, Union

import httpx

from ..units import human_size

#: Where lines go: a callable taking one line, or a text stream (a notebook cell's stdout).
Sink = Union[Callable[[str], None], IO[str]]  # noqa: UP007 (a runtime alias, not an annotation)
_SECRET_PARAM = re.compile(r"sig|signature|token|password|passwd|secret|credential|key", re.I)
_LONG_VALUE = 24


def line_writer(target: Sink | None) -> Callable[[str], None] | None:
    """A function that writes one line to ``target`` (None stays None: nothing to write)."""
    if target is None:
        return None
    write = getattr(target, "write", None)
    if write is None:
        return target  # type: ignore[return-value]
    flush = getattr(target, "flush", None)

    def emit(line: str) -> None:
        write(line + "\n")
        if flush is not None:
            flush()
    return emit


def redact_authorization(value: str) -> str:
    scheme = value.strip().split(" ", 1)[0]
    return f"{scheme} ***" if scheme.lower() in ("basic", "bearer") else "***"


def show_url(url: httpx.URL, home: str | None) -> str:
    """Path and query for the registry itself, the whole URL for other hosts (a token server, a
    CDN a blob redirects to); secret-looking query values masked, long opaque ones shortened."""
    params = []
    for key, value in url.params.multi_items():
        if _SECRET_PARAM.search(key):
            value = "***"
        elif len(value) > _LONG_VALUE and not value.startswith("sha256:") and key != "scope":
            value = value[:12] + "…"
        params.append(f"{key}={value}")
    text = url.path + ("?" + "&".join(params) if params else "")
    if home is not None and url.netloc.decode() == home:
        return text
    return f"{url.scheme}://{url.netloc.decode()}{text}"


def describe_request(request: httpx.Request, home: str | None = None) -> str:
    parts = [">", request.method, show_url(request.url, home)]
    if request.method in ("PUT", "PATCH", "POST"):
        length = request.headers.get("content-length")
        if length and length != "0":
            parts += [request.headers.get("content-type", ""), human_size(int(length))]
    if "authorization" in request.headers:
        parts.append(f"Authorization: {redact_authorization(request.headers['authorization'])}")
    return " ".join(p for p in parts if p)


def describe_response(response: httpx.Response, home: str | None = None) -> str:
    headers = response.headers
    parts = ["<", str(response.status_code), response.reason_phrase]
    if "content-type" in headers and response.status_code < 300:
        parts.append(headers["content-type"].split(";")[0])
    if "content-length" in headers and headers["content-length"] != "0":
        parts.append(human_size(int(headers["content-length"])))
    if "docker-content-digest" in headers:
        parts.append(f"Docker-Content-Digest: {headers['docker-content-digest']}")
    if "location" in headers:
        location = response.request.url.join(headers["location"])
        parts.append(f"Location: {show_url(location, home)}")
    if "range" in headers and response.status_code == 202:
        parts.append(f"Range: {headers['range']}")
    if "link" in headers:
        parts.append(f"Link: {headers['link']}")
    for challenge in headers.get_list("www-authenticate"):
        parts.append(f"WWW-Authenticate: {challenge}")  # the challenge is public: realm and scope
    return " ".join(p for p in parts if p)


class Trace:
    """httpx event hooks writing ``describe_request``/``describe_response`` lines to a sink."""

    def __init__(self, sink: Sink, home: str | None = None) -> None:
        emit = line_writer(sink)
        assert emit is not None
        self._emit = emit
        self.home = home

    def on_request(self, request: httpx.Request) -> None:
        self._emit(describe_request(request, self.home))

    def on_response(self, response: httpx.Response) -> None:
        self._emit(describe_response(response, self.home))

    def hooks(self) -> dict[str, list[Any]]:
        return {"request": [self.on_request], "response": [self.on_response]}
