"""RegistryClient against scripted registries (httpx.MockTransport): errors, paging, uploads."""

from __future__ import annotations

import io

import httpx
import pytest

from minidock_magic.content.store import ContentStore
from minidock_magic.errors import (
    Denied,
    DigestMismatch,
    InvalidArgument,
    MinidockError,
    NotFound,
    TooLarge,
    Unauthorized,
    Unavailable,
)
from minidock_magic.oci import Descriptor, Digest, Reference
from minidock_magic.remotes.client import MAX_MANIFEST, RegistryClient, is_insecure
from minidock_magic.remotes.credentials import Credential
from tests.servers import free_port


def client(handler, host: str = "reg.example", **kwargs) -> RegistryClient:
    return RegistryClient(host, transport=httpx.MockTransport(handler), **kwargs)


def spec_error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message, "detail": None}]})


@pytest.mark.parametrize("host, base", [
    ("localhost:5000", "http://localhost:5000"), ("127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("[::1]:5000", "http://[::1]:5000"), ("localhost", "http://localhost"),
    ("registry.example:5000", "https://registry.example:5000"), ("docker.io", "https://registry-1.docker.io"),
    ("ghcr.io", "https://ghcr.io"),
])
def test_scheme_follows_dockers_rule(host, base):
    with RegistryClient(host) as c:
        assert c.base_url == base


def test_insecure_can_be_asked_for(monkeypatch):
    with RegistryClient("reg.lan:5000", insecure=True) as c:
        assert c.base_url == "http://reg.lan:5000"
    monkeypatch.setenv("MINIDOCK_INSECURE_REGISTRIES", "reg.lan:5000, other:1")
    assert is_insecure("reg.lan:5000") and not is_insecure("reg.lan:5001")


@pytest.mark.parametrize("response, error, text", [
    (spec_error(404, "MANIFEST_UNKNOWN", "manifest unknown"), NotFound,
     "cannot pull reg.example/me/app:1: manifest unknown"),
    (spec_error(404, "NAME_UNKNOWN", "repository name not known to registry"), NotFound,
     "cannot pull reg.example/me/app:1: name unknown: repository name not known to registry"),
    (spec_error(403, "DENIED", "requested access to the resource is denied"), Denied,
     "cannot pull reg.example/me/app:1: denied: requested access to the resource is denied"),
    (spec_error(429, "TOOMANYREQUESTS", "You have reached your pull rate limit."), Unavailable,
     "cannot pull reg.example/me/app:1: toomanyrequests: You have reached your pull rate limit."),
    (httpx.Response(500, text="<html>oops</html>"), MinidockError,
     "cannot pull reg.example/me/app:1: 500 Internal Server Error"),
    (httpx.Response(401), Unauthorized,
     "unauthorized: authentication required to pull reg.example/me/app:1 — run 'minidock login reg.example'"),
])
def test_errors_are_one_clear_line(response, error, text):
    with client(lambda request: response) as c, pytest.raises(error) as caught:
        c.resolve(Reference.parse("reg.example/me/app:1"))
    assert str(caught.value) == text


def test_docker_hub_login_hint_and_refused_login():
    with client(lambda r: httpx.Response(401), host="docker.io") as c, pytest.raises(Unauthorized) as caught:
        c.resolve(Reference.parse("me/app"))
    assert str(caught.value).endswith("— run 'minidock login'")
    with client(lambda r: httpx.Response(401), credentials=Credential("me", "hunter2")) as c:
        with pytest.raises(Unauthorized) as refused:
            c.ping()
    assert "refused the login of 'me'" in str(refused.value) and "hunter2" not in str(refused.value)


def test_connection_refused_names_the_host():
    port = free_port()
    with RegistryClient(f"127.0.0.1:{port}") as c, pytest.raises(Unavailable) as caught:
        c.ping()
    assert f"127.0.0.1:{port}" in str(caught.value) and "connection refused" in str(caught.value)


def test_manifests_are_checked_against_their_digest():
    raw = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    honest = {"Content-Type": "application/json", "Docker-Content-Digest": str(Digest.of(raw))}
    with client(lambda r: httpx.Response(200, content=raw, headers=honest)) as c:
        desc, body = c.resolve(Reference.parse(f"reg.example/a@{Digest.of(raw)}"))
    assert body == raw and desc.media_type == "application/vnd.oci.image.index.v1+json"  # from the body
    lying = {"Docker-Content-Digest": str(Digest.of(b"other"))}
    with client(lambda r: httpx.Response(200, content=raw, headers=lying)) as c, \
            pytest.raises(DigestMismatch):
        c.resolve(Reference.parse("reg.example/a:1"))
    with client(lambda r: httpx.Response(200, content=raw)) as c, pytest.raises(DigestMismatch):
        c.resolve(Reference.parse(f"reg.example/a@{Digest.of(b'wanted')}"))
    huge = b" " * (MAX_MANIFEST + 1)
    with client(lambda r: httpx.Response(200, content=huge)) as c, pytest.raises(TooLarge):
        c.resolve(Reference.parse("reg.example/a:1"))


def test_tags_follow_link_pages_relative_and_absolute():
    pages = {
        None: (["a", "b"], '</v2/me/app/tags/list?n=2&last=b>; rel="next"'),
        "b": (["c", "d"], '<https://reg.example/v2/me/app/tags/list?n=2&last=d>; rel="next"'),
        "d": (["e"], None),
    }
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        tags, link = pages[request.url.params.get("last")]
        headers = {"Link": link} if link else {}
        return httpx.Response(200, json={"name": "me/app", "tags": tags}, headers=headers)

    with client(handler) as c:
        assert c.tags("me/app", n=2) == ["a", "b", "c", "d", "e"]
    assert asked[0] == "https://reg.example/v2/me/app/tags/list?n=2" and "last=d" in asked[2]


def test_a_registry_linking_to_itself_forever_is_stopped():
    link = {"Link": '</v2/_catalog?last=x>; rel="next"'}
    with client(lambda r: httpx.Response(200, json={"repositories": ["x"]}, headers=link)) as c:
        assert c.catalog() == ["x", "x"]


class UploadRegistry:
    """Upload endpoints that answer with absolute Locations carrying their own query state."""

    def __init__(self, mount_ok: bool = False) -> None:
        self.mount_ok = mount_ok
        self.requests: list[tuple[str, str, bytes]] = []
        self.stored = b""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.requests.append((request.method, str(request.url), body))
        path = request.url.path
        if request.method == "POST" and "mount" in request.url.params:
            if self.mount_ok:
                return httpx.Response(201, headers={"Docker-Content-Digest": request.url.params["mount"]})
            return httpx.Response(202, headers={"Location": "https://reg.example/v2/me/app/blobs/uploads/m1?_state=s0"})
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "https://reg.example/v2/me/app/blobs/uploads/u1?_state=s1"})
        if request.method == "PATCH":
            self.stored += body
            return httpx.Response(202, headers={"Location": "/v2/me/app/blobs/uploads/u1?_state=s2",
                                                "Range": f"0-{len(self.stored) - 1}"})
        if request.method == "PUT" and "/blobs/uploads/" in path:
            self.stored += body
            digest = request.url.params["digest"]
            if str(Digest.of(self.stored)) != digest:
                return spec_error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
            return httpx.Response(201, headers={"Docker-Content-Digest": digest})
        if request.method == "PUT":
            return httpx.Response(201, headers={"Docker-Content-Digest": str(Digest.of(body))})
        return httpx.Response(404)


def test_small_blobs_go_up_in_one_put_keeping_the_location_state():
    data = b"small blob"
    fake = UploadRegistry()
    with client(fake) as c:
        c.push_blob("me/app", Descriptor("x", Digest.of(data), len(data)), io.BytesIO(data))
    methods = [(m, url) for m, url, _ in fake.requests]
    assert methods[0] == ("POST", "https://reg.example/v2/me/app/blobs/uploads/")
    assert methods[1][0] == "PUT" and "_state=s1" in methods[1][1] and f"digest={Digest.of(data)}".replace(
        ":", "%3A") in methods[1][1]


def test_large_blobs_stream_in_a_patch_then_an_empty_put():
    data = bytes(range(256)) * 40
    fake = UploadRegistry()
    progress: list[int] = []
    with client(fake, monolithic_max=1000) as c:
        c.push_blob("me/app", Descriptor("x", Digest.of(data), len(data)), io.BytesIO(data), progress.append)
    assert [m for m, _, _ in fake.requests] == ["POST", "PATCH", "PUT"]
    assert fake.requests[1][2] == data and fake.requests[2][2] == b""
    assert "_state=s2" in fake.requests[2][1]  # the relative Location of the PATCH answer
    assert sum(progress) == len(data)


def test_a_refused_mount_upload_session_is_reused():
    data = b"layer"
    fake = UploadRegistry(mount_ok=False)
    with client(fake) as c:
        assert c.mount_blob("me/app", Digest.of(data), "other/repo") is False
        c.push_blob("me/app", Descriptor("x", Digest.of(data), len(data)), io.BytesIO(data))
    assert [m for m, _, _ in fake.requests] == ["POST", "PUT"]
    assert "/uploads/m1" in fake.requests[1][1]
    with client(UploadRegistry(mount_ok=True)) as c:
        assert c.mount_blob("me/app", Digest.of(data), "other/repo") is True


def test_a_registry_that_stores_other_bytes_is_caught():
    fake = UploadRegistry()
    with client(fake) as c, pytest.raises(DigestMismatch):
        c.push_blob("me/app", Descriptor("x", Digest.of(b"claimed"), 5), io.BytesIO(b"other"))
    with client(lambda r: httpx.Response(201, headers={"Docker-Content-Digest": str(Digest.of(b"x"))})) as c:
        with pytest.raises(DigestMismatch):
            c.put_manifest("me/app", "1", b"{}", "application/vnd.oci.image.manifest.v1+json")


def test_get_blob_leaves_nothing_behind_on_a_short_or_wrong_body(tmp_path):
    store = ContentStore(tmp_path / "oci", tmp_dir=tmp_path / "tmp")
    good = b"the real layer"
    desc = Descriptor("x", Digest.of(good), len(good))
    for body in (b"the fake layer", good[:-1], good + b"!"):
        with client(lambda r, body=body: httpx.Response(200, content=body)) as c, \
                pytest.raises(DigestMismatch):
            c.get_blob("me/app", desc, store.writer(desc.digest, desc.size))
        assert not store.exists(desc.digest) and list((tmp_path / "tmp").iterdir()) == []
    with client(lambda r: httpx.Response(200, content=good)) as c:
        assert c.get_blob("me/app", desc, store.writer(desc.digest, desc.size)).digest == desc.digest
    assert store.read_bytes(desc.digest) == good


def test_repository_names_are_checked_before_any_request():
    with client(lambda r: httpx.Response(200)) as c, pytest.raises(InvalidArgument):
        c.tags("../etc")
    with client(lambda r: httpx.Response(200)) as c, pytest.raises(InvalidArgument):
        c.mount_blob("me/app", Digest.of(b""), "Bad/Name")


def test_hub_search_reads_the_v1_api():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "index.docker.io" and request.url.params["q"] == "busy"
        return httpx.Response(200, json={"results": [{"name": "busybox", "star_count": 3}]})

    with client(handler, host="docker.io") as c:
        assert c.hub_search("busy") == [{"name": "busybox", "star_count": 3}]
