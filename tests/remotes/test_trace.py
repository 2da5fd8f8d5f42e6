"""--trace: one line per request and response, and never a secret."""

from __future__ import annotations

import io

import httpx

from minidock_magic.oci import Reference
from minidock_magic.remotes.client import RegistryClient
from minidock_magic.remotes.credentials import Credential
from minidock_magic.remotes.trace import (
    describe_request,
    describe_response,
    line_writer,
    show_url,
)

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2VjcmV0LXNpZ25hdHVyZQ"
PASSWORD = "sup3r-s3cret"
MANIFEST = (b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
            b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:'
            + b"0" * 64 + b'","size":2},"layers":[]}')


def registry(request: httpx.Request) -> httpx.Response:
    if request.url.host == "auth.example":
        body = {"token": TOKEN, "access_token": TOKEN, "refresh_token": "r-" + TOKEN}
        return httpx.Response(200, json=body)
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.example/token",'
                                            'service="reg",scope="repository:library/busybox:pull"'})
    return httpx.Response(200, content=MANIFEST, headers={
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        "Docker-Content-Digest": "sha256:" + __import__("hashlib").sha256(MANIFEST).hexdigest()})


def test_a_whole_exchange_shows_the_protocol_and_hides_secrets():
    lines: list[str] = []
    with RegistryClient("reg.example", credentials=Credential("me", PASSWORD), trace=lines.append,
                        transport=httpx.MockTransport(registry)) as client:
        client.resolve(Reference.parse("reg.example/library/busybox"))
    text = "\n".join(lines)
    assert lines[0] == "> GET /v2/library/busybox/manifests/latest"
    assert lines[1].startswith("< 401 Unauthorized WWW-Authenticate: Bearer realm=")
    assert lines[2] == ("> GET https://auth.example/token?service=reg&scope=repository:library/busybox:pull "
                        "Authorization: Basic ***")
    assert lines[3].startswith("< 200 OK application/json")
    assert lines[4] == "> GET /v2/library/busybox/manifests/latest Authorization: Bearer ***"
    assert lines[5].startswith("< 200 OK application/vnd.oci.image.manifest.v1+json 2") \
        and "Docker-Content-Digest: sha256:" in lines[5]
    assert len(lines) == 6
    for secret in (TOKEN, PASSWORD, "c2VjcmV0", "bWU6c3Vw"):  # token, password, base64 of "me:sup…"
        assert secret not in text


def test_urls_mask_signatures_and_shorten_opaque_state():
    url = httpx.URL("https://cdn.example/blob?X-Amz-Signature=abc&X-Amz-Credential=k&ok=1&"
                    "_state=" + "Z" * 80 + "&digest=sha256:" + "a" * 64)
    shown = show_url(url, "reg.example")
    assert "abc" not in shown and "X-Amz-Signature=***" in shown and "X-Amz-Credential=***" in shown
    assert "_state=ZZZZZZZZZZZZ…" in shown and "digest=sha256:" + "a" * 64 in shown
    assert show_url(httpx.URL("https://reg.example/v2/?a=1"), "reg.example") == "/v2/?a=1"


def test_request_and_response_lines():
    request = httpx.Request("PUT", "http://r:5000/v2/me/x/manifests/1", content=b"x" * 1234,
                            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                     "Authorization": "Basic bWU6cHc="})
    assert describe_request(request, "r:5000") == ("> PUT /v2/me/x/manifests/1 "
                                                   "application/vnd.oci.image.manifest.v1+json 1.23kB "
                                                   "Authorization: Basic ***")
    response = httpx.Response(202, request=request, headers={
        "Location": "/v2/me/x/blobs/uploads/u1", "Range": "0-99", "Content-Length": "0"})
    assert describe_response(response, "r:5000") == \
        "< 202 Accepted Location: /v2/me/x/blobs/uploads/u1 Range: 0-99"
    odd = httpx.Request("GET", "http://r:5000/v2/", headers={"Authorization": "Token abc"})
    assert describe_request(odd, "r:5000") == "> GET /v2/ Authorization: ***"


def test_lines_go_to_streams_or_callables():
    stream = io.StringIO()
    emit = line_writer(stream)
    assert emit is not None
    emit("> GET /v2/")
    assert stream.getvalue() == "> GET /v2/\n"
    assert line_writer(None) is None
