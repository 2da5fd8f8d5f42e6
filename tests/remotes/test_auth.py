"""Challenges, scopes and the token dance — pure, over httpx.MockTransport."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from minidock_magic.errors import Unauthorized
from minidock_magic.remotes.auth import (
    RegistryAuth,
    covers,
    parse_www_authenticate,
    scopes_for,
)
from minidock_magic.remotes.credentials import Credential


@pytest.mark.parametrize("header, expected", [
    ('Basic realm="basic-realm"', [("basic", {"realm": "basic-realm"})]),
    ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
     'scope="repository:library/busybox:pull"',
     [("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                  "scope": "repository:library/busybox:pull"})]),
    ('Bearer realm="https://r/t", scope="repository:a:pull,push repository:b:pull", '
     'error="insufficient_scope"',
     [("bearer", {"realm": "https://r/t", "scope": "repository:a:pull,push repository:b:pull",
                  "error": "insufficient_scope"})]),
    ('BEARER Realm=https://r/t,Service=reg', [("bearer", {"realm": "https://r/t", "service": "reg"})]),
    ('Basic realm="a, b", Bearer realm="https://t",service="s"',
     [("basic", {"realm": "a, b"}), ("bearer", {"realm": "https://t", "service": "s"})]),
    ('Basic realm="say \\"hi\\", ok"', [("basic", {"realm": 'say "hi", ok'})]),
    ('Negotiate', [("negotiate", {})]),
    ('', []),
])
def test_www_authenticate(header, expected):
    assert [(c.scheme, c.params) for c in parse_www_authenticate(header)] == expected


def test_several_header_values_and_scopes_list():
    found = parse_www_authenticate(['Basic realm="x"', 'Bearer realm="https://t",scope="a:b:pull c:d:push"'])
    assert [c.scheme for c in found] == ["basic", "bearer"]
    assert found[1].scopes == ["a:b:pull", "c:d:push"]


@pytest.mark.parametrize("method, path, params, expected", [
    ("GET", "/v2/", {}, []),
    ("GET", "/v2/_catalog", {"n": "1"}, ["registry:catalog:*"]),
    ("HEAD", "/v2/library/busybox/manifests/latest", {}, ["repository:library/busybox:pull"]),
    ("GET", "/v2/a/b/c/blobs/sha256:00", {}, ["repository:a/b/c:pull"]),
    ("PUT", "/v2/me/app/blobs/uploads/uuid", {"digest": "x"}, ["repository:me/app:pull,push"]),
    ("PATCH", "/v2/me/app/blobs/uploads/uuid", {}, ["repository:me/app:pull,push"]),
    ("DELETE", "/v2/me/app/manifests/sha256:00", {}, ["repository:me/app:delete"]),
    ("GET", "/v2/me/tags/list/tags/list", {}, ["repository:me/tags/list:pull"]),
    ("POST", "/v2/x/blobs/uploads/", {"mount": "sha256:0", "from": "y/z"},
     ["repository:x:pull,push", "repository:y/z:pull"]),
])
def test_scopes_for(method, path, params, expected):
    assert scopes_for(method, path, params) == expected


def test_covers():
    assert covers(frozenset({"repository:a:pull,push", "repository:b:pull"}), ["repository:b:pull"])
    assert not covers(frozenset({"repository:a:pull"}), ["repository:b:pull"])
    assert covers(frozenset(), [])


class FakeRegistry:
    """A registry that wants Bearer tokens from ``https://auth.test/token``, and its token server."""

    def __init__(self, *, password: str = "pw", token_key: str = "token", expires_in: int = 300) -> None:
        self.password, self.token_key, self.expires_in = password, token_key, expires_in
        self.token_requests: list[httpx.Request] = []
        self.seen: list[httpx.Request] = []
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.test":
            self.token_requests.append(request)
            auth = request.headers.get("authorization")
            if auth and base64.b64decode(auth.split()[1]).decode() != f"me:{self.password}":
                return httpx.Response(401, json={"details": "incorrect username or password"})
            self.count += 1
            body = {self.token_key: f"tok-{self.count}", "expires_in": self.expires_in}
            return httpx.Response(200, json=body)
        self.seen.append(request)
        if request.headers.get("authorization", "").startswith("Bearer tok-"):
            return httpx.Response(200, json={})
        scope = scopes_for(request.method, request.url.path, dict(request.url.params))
        challenge = 'Bearer realm="https://auth.test/token",service="reg.test"'
        if scope:
            challenge += f',scope="{scope[0]}"'
        return httpx.Response(401, headers={"WWW-Authenticate": challenge},
                              json={"errors": [{"code": "UNAUTHORIZED",
                                                "message": "authentication required"}]})


def client_for(fake: FakeRegistry, credential: Credential | None = None, clock=None) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(fake), auth=RegistryAuth(credential, clock=clock),
                        base_url="https://reg.test")


def test_bearer_token_is_fetched_once_and_cached_per_scope():
    fake = FakeRegistry()
    with client_for(fake, Credential("me", "pw")) as http:
        assert http.get("/v2/me/app/manifests/1").status_code == 200
        assert http.head("/v2/me/app/blobs/sha256:00").status_code == 200
        assert len(fake.token_requests) == 1
        sent = fake.token_requests[0]
        assert sent.url.params.get_list("scope") == ["repository:me/app:pull"]
        assert sent.url.params["service"] == "reg.test"
        assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"me:pw").decode()
        # A push scope is not covered by a pull token: one more token, asked up front.
        assert http.put("/v2/me/app/manifests/1", content=b"{}").status_code == 200
        assert len(fake.token_requests) == 2
        assert fake.token_requests[1].url.params.get_list("scope") == ["repository:me/app:pull,push"]
        assert fake.seen[-1].headers["authorization"] == "Bearer tok-2"


def test_expired_tokens_are_renewed():
    now = [1000.0]
    fake = FakeRegistry(expires_in=60, token_key="access_token")  # OAuth2's name is accepted too
    with client_for(fake, clock=lambda: now[0]) as http:
        http.get("/v2/me/app/tags/list")
        http.get("/v2/me/app/tags/list")
        assert len(fake.token_requests) == 1 and "authorization" not in fake.token_requests[0].headers
        now[0] += 61
        http.get("/v2/me/app/tags/list")
        assert len(fake.token_requests) == 2


def test_token_server_refusing_the_login_is_unauthorized():
    fake = FakeRegistry(password="other")
    with client_for(fake, Credential("me", "pw")) as http, pytest.raises(Unauthorized) as caught:
        http.get("/v2/")
    assert "incorrect username or password" in str(caught.value) and "pw" not in str(caught.value)


def test_basic_challenge_is_answered_once_then_sent_up_front():
    seen: list[bool] = []  # was a login sent? (the flow re-sends the same request object)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append("authorization" in request.headers)
        if request.headers.get("authorization") == "Basic " + base64.b64encode(b"me:pw").decode():
            return httpx.Response(200, json={})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    with httpx.Client(transport=httpx.MockTransport(handler), auth=RegistryAuth(Credential("me", "pw")),
                      base_url="http://reg.test") as http:
        assert http.get("/v2/").status_code == 200
        assert http.get("/v2/x/tags/list").status_code == 200
    assert seen == [False, True, True]

    with httpx.Client(transport=httpx.MockTransport(handler), auth=RegistryAuth(None),
                      base_url="http://reg.test") as http:
        assert http.get("/v2/").status_code == 401  # no login: the caller turns it into one line


def test_replayed_stream_bodies_survive_a_challenge():
    fake = FakeRegistry()

    class Body:
        def __iter__(self):
            yield b"abc"

    with client_for(fake, Credential("me", "pw")) as http:
        response = http.put("/v2/me/app/blobs/uploads/u", content=Body(), headers={"Content-Length": "3"})
    assert response.status_code == 200 and json.loads(response.content) == {}
