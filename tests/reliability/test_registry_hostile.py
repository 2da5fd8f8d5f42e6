"""Hostile requests against a live ``RegistryServer``: names, digests, upload ids, ranges, sizes,
JSON and auth headers that no honest client sends — written byte for byte on a raw socket.

Each case: never a 5xx (nor a "registry bug" in the server's log), the right 4xx and spec error
code, and nothing created anywhere but where the registry keeps its data (a sentinel tree beside
the data dir is compared before and after; inside it, the set of blobs, repositories and tags).
Then the clients that misbehave in time: one that sends half a blob and vanishes, one that
dribbles a body byte by byte while others are served.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from minidock_magic.registry import RegistryServer, add_user
from minidock_magic.registry.manifests import MAX_MANIFEST_BYTES
from tests.reliability.builders import (
    OCI_INDEX,
    OCI_MANIFEST,
    Layer,
    RawImage,
    make_image,
    push_raw,
    sha256,
    tar_of,
)
from tests.reliability.conftest import Tally, listing
from tests.reliability.rawhttp import Answer, read_answer, request

TALLY = Tally("registry: hostile requests")
SLOW_TALLY = Tally("registry: slow and abandoned clients")
USER, PASSWORD = "teacher", "s3cret-Registry-pw"
OTHER = sha256(b"nothing anyone pushed")
NO_UUID = str(uuid.uuid4())


@dataclass
class Env:
    """What cases aim at: the seeded image, an upload in progress, the two servers."""

    open: RegistryServer
    private: RegistryServer
    image: RawImage
    upload: str = ""

    @property
    def layer(self) -> str:
        return sha256(self.image.layers[0].blob)

    @property
    def manifest(self) -> bytes:
        return self.image.manifest


Target = str | bytes | Callable[[Env], str | bytes]
Body = bytes | Callable[[Env], bytes]


@dataclass
class Req:
    name: str
    method: str
    target: Target
    status: int | tuple[int, ...]
    code: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body = b""
    private: bool = False
    raw_headers: bytes = b""
    host: bytes | None = None
    content_length: bool = True
    #: an upload of seed/app is started before, and must still be at offset 0 after
    needs_upload: bool = False
    check: Callable[[Answer], None] | None = None


def manifest_with(**fields: object) -> Callable[[Env], bytes]:
    def body(env: Env) -> bytes:
        doc = json.loads(env.manifest)
        doc.update(fields)
        return json.dumps(doc).encode()
    return body


def token(secret: bytes, claims: dict[str, object], alg: str = "HS256") -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    signing = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    signature = b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest()) if alg != "none" else ""
    return f"{signing}.{signature}"


def basic(text: bytes) -> list[tuple[str, str]]:
    return [("Authorization", "Basic " + base64.b64encode(text).decode())]


def no_evil_realm(answer: Answer) -> None:
    assert "evil" not in answer.headers.get("www-authenticate", ""), answer.headers


GOOD_CLAIMS = {"iss": "minidock", "aud": "minidock", "sub": USER, "iat": 0, "nbf": 0, "exp": 2**40,
               "access": [{"type": "repository", "name": "seed/app", "actions": ["pull", "push"]}]}
JSON = [("Content-Type", OCI_MANIFEST)]
CHUNKED = b"Transfer-Encoding: chunked\r\n"


def chunked(data: bytes, piece: int = 1 << 20) -> bytes:
    out = b"".join(b"%x\r\n" % len(data[i:i + piece]) + data[i:i + piece] + b"\r\n"
                   for i in range(0, len(data), piece))
    return out + b"0\r\n\r\n"


REQUESTS = [
    # -- repository names --------------------------------------------------------------------------
    Req("name_dotdot", "GET", "/v2/a/../b/tags/list", 400, "NAME_INVALID"),
    Req("name_encoded_dotdot", "GET", "/v2/%2e%2e/%2e%2e/etc/tags/list", 400, "NAME_INVALID"),
    Req("name_encoded_slash_dotdot", "GET", "/v2/..%2f..%2fetc/manifests/latest", 400, "NAME_INVALID"),
    Req("name_encoded_nul", "GET", "/v2/a%00b/tags/list", 400, "NAME_INVALID"),
    Req("name_raw_nul", "GET", b"/v2/a\x00b/tags/list", 400),
    Req("name_uppercase", "GET", "/v2/Seed/App/tags/list", 400, "NAME_INVALID"),
    Req("name_too_long", "GET", "/v2/" + "a" * 300 + "/tags/list", 400, "NAME_INVALID"),
    Req("name_absolute", "GET", "/v2//etc/passwd/tags/list", 400, "NAME_INVALID"),
    Req("name_leading_separator", "GET", "/v2/-a/tags/list", 400, "NAME_INVALID"),
    Req("path_too_long", "GET", "/v2/" + "a/" * 3000 + "tags/list", 404, "NAME_UNKNOWN"),
    Req("reference_with_encoded_slashes", "GET", "/v2/seed/app/manifests/..%2f..%2fx", 404, "NAME_UNKNOWN"),
    Req("reference_with_encoded_nul", "GET", "/v2/seed/app/manifests/a%00b", 404, "MANIFEST_UNKNOWN"),
    Req("tag_put_hidden", "PUT", "/v2/seed/app/manifests/.hidden", 400, "TAG_INVALID",
        headers=JSON, body=lambda env: env.manifest),
    Req("tag_query_traversal", "PUT", lambda env: f"/v2/seed/app/manifests/{env.image.digest}?tag=..%2f..%2fx",
        400, "TAG_INVALID", headers=JSON, body=lambda env: env.manifest),
    # -- digests -------------------------------------------------------------------------------------
    Req("digest_garbage", "GET", "/v2/seed/app/blobs/sha256:zz", 400, "DIGEST_INVALID"),
    Req("digest_md5", "GET", "/v2/seed/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", 400, "DIGEST_INVALID"),
    Req("digest_uppercase", "GET", "/v2/seed/app/blobs/sha256:" + "A" * 64, 400, "DIGEST_INVALID"),
    Req("digest_too_short", "GET", "/v2/seed/app/blobs/sha256:" + "a" * 63, 400, "DIGEST_INVALID"),
    Req("digest_encoded_traversal", "GET", "/v2/seed/app/blobs/sha256:..%2f..%2fetc", 404, "NAME_UNKNOWN"),
    Req("blob_of_another_repository", "GET", lambda env: f"/v2/other/app/blobs/{env.layer}", 404, "BLOB_UNKNOWN"),
    Req("monolithic_wrong_digest", "POST", f"/v2/seed/app/blobs/uploads/?digest={OTHER}", 400, "DIGEST_INVALID",
        body=b"not those bytes"),
    Req("monolithic_bad_digest_param", "POST", "/v2/seed/app/blobs/uploads/?digest=md5:00", 400, "DIGEST_INVALID",
        body=b"x"),
    # -- upload ids ----------------------------------------------------------------------------------
    Req("upload_id_dotdot", "PATCH", "/v2/seed/app/blobs/uploads/%2e%2e", 404, "BLOB_UPLOAD_UNKNOWN", body=b"x"),
    Req("upload_id_not_a_uuid", "PATCH", "/v2/seed/app/blobs/uploads/state.json", 404, "BLOB_UPLOAD_UNKNOWN",
        body=b"x"),
    Req("upload_id_unknown", "PATCH", f"/v2/seed/app/blobs/uploads/{NO_UUID}", 404, "BLOB_UPLOAD_UNKNOWN", body=b"x"),
    Req("upload_id_of_another_repo_patch", "PATCH", lambda env: f"/v2/other/app/blobs/uploads/{env.upload}", 404,
        "BLOB_UPLOAD_UNKNOWN", body=b"x", needs_upload=True),
    Req("upload_id_of_another_repo_complete", "PUT",
        lambda env: f"/v2/other/app/blobs/uploads/{env.upload}?digest={sha256(b'')}", 404, "BLOB_UPLOAD_UNKNOWN",
        needs_upload=True),
    Req("upload_id_of_another_repo_cancel", "DELETE", lambda env: f"/v2/other/app/blobs/uploads/{env.upload}", 404,
        "BLOB_UPLOAD_UNKNOWN", needs_upload=True),
    Req("upload_id_of_another_repo_status", "GET", lambda env: f"/v2/other/app/blobs/uploads/{env.upload}", 404,
        "BLOB_UPLOAD_UNKNOWN", needs_upload=True),
    # -- Content-Range and lengths -------------------------------------------------------------------
    Req("range_gap", "PATCH", lambda env: f"/v2/seed/app/blobs/uploads/{env.upload}", 416, "BLOB_UPLOAD_INVALID",
        headers=[("Content-Range", "5-9")], body=b"12345", needs_upload=True),
    Req("range_backwards", "PATCH", lambda env: f"/v2/seed/app/blobs/uploads/{env.upload}", 416,
        "BLOB_UPLOAD_INVALID", headers=[("Content-Range", "9-5")], body=b"12345", needs_upload=True),
    Req("range_garbage", "PATCH", lambda env: f"/v2/seed/app/blobs/uploads/{env.upload}", 416,
        "BLOB_UPLOAD_INVALID", headers=[("Content-Range", "bytes=abc")], body=b"12345", needs_upload=True),
    Req("range_longer_than_body", "PATCH", lambda env: f"/v2/seed/app/blobs/uploads/{env.upload}", 416,
        "BLOB_UPLOAD_INVALID", headers=[("Content-Range", "0-19")], body=b"0123456789", needs_upload=True),
    Req("range_huge", "PATCH", lambda env: f"/v2/seed/app/blobs/uploads/{env.upload}", 416, "BLOB_UPLOAD_INVALID",
        headers=[("Content-Range", "0-999999999999999999")], body=b"0123456789", needs_upload=True),
    Req("range_beyond_any_integer", "PATCH", lambda env: f"/v2/seed/app/blobs/uploads/{env.upload}", 416,
        "BLOB_UPLOAD_INVALID", headers=[("Content-Range", "0-" + "9" * 40)], body=b"0123456789", needs_upload=True),
    Req("content_length_negative", "POST", "/v2/seed/app/blobs/uploads/", 400,
        headers=[("Content-Length", "-1")], content_length=False),
    Req("content_length_garbage", "POST", "/v2/seed/app/blobs/uploads/", 400,
        headers=[("Content-Length", "12abc")], content_length=False),
    Req("content_length_twice_different", "PATCH", lambda env: f"/v2/seed/app/blobs/uploads/{env.upload}", 400,
        headers=[("Content-Length", "5"), ("Content-Length", "7")], body=b"12345", needs_upload=True),
    Req("page_size_negative", "GET", "/v2/seed/app/tags/list?n=-1", 400, "PAGINATION_NUMBER_INVALID"),
    Req("page_size_10e12", "GET", "/v2/seed/app/tags/list?n=1000000000000", 400, "PAGINATION_NUMBER_INVALID"),
    Req("page_size_float", "GET", "/v2/_catalog?n=1e3", 400, "PAGINATION_NUMBER_INVALID"),
    Req("page_size_nul", "GET", "/v2/_catalog?n=%00", 400, "PAGINATION_NUMBER_INVALID"),
    Req("page_size_superscript_two", "GET", "/v2/seed/app/tags/list?n=%C2%B2", 400, "PAGINATION_NUMBER_INVALID"),
    Req("page_last_not_utf8", "GET", "/v2/_catalog?last=%ff%fe", 200),
    # -- manifests ------------------------------------------------------------------------------------
    Req("manifest_not_json", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID", headers=JSON,
        body=b"{not json"),
    Req("manifest_json_array", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID", headers=JSON,
        body=b"[1, 2]"),
    Req("manifest_nested_100000_deep", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID", headers=JSON,
        body=b"[" * 100_000 + b"]" * 100_000),
    Req("manifest_not_utf8", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID", headers=JSON,
        body=b'{"schemaVersion": 2, "x": "\xff\xfe"}'),
    Req("manifest_unknown_blobs", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_BLOB_UNKNOWN", headers=JSON,
        body=manifest_with(config={"mediaType": "application/vnd.oci.image.config.v1+json", "digest": OTHER,
                                   "size": 3})),
    Req("manifest_oversize_declared", "PUT", "/v2/seed/app/manifests/big", 413, "SIZE_INVALID", headers=JSON,
        body=b" " * (MAX_MANIFEST_BYTES + 1)),
    Req("manifest_oversize_chunked", "PUT", "/v2/seed/app/manifests/big", 413, "SIZE_INVALID", headers=JSON,
        raw_headers=CHUNKED, body=chunked(b" " * (MAX_MANIFEST_BYTES + 1)), content_length=False),
    Req("manifest_wrong_content_type", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID",
        headers=[("Content-Type", "text/plain")], body=lambda env: env.manifest),
    Req("manifest_content_type_mismatch", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID",
        headers=[("Content-Type", OCI_INDEX)], body=lambda env: env.manifest),
    Req("manifest_digest_mismatch", "PUT", f"/v2/seed/app/manifests/{OTHER}", 400, "DIGEST_INVALID", headers=JSON,
        body=lambda env: env.manifest),
    Req("manifest_schema_version_string", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID",
        headers=JSON, body=manifest_with(schemaVersion="2")),
    Req("manifest_negative_size", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID", headers=JSON,
        body=lambda env: manifest_with(layers=[{"mediaType": "x", "digest": env.layer, "size": -1}])(env)),
    Req("manifest_layers_not_a_list", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID", headers=JSON,
        body=manifest_with(layers="everything")),
    Req("manifest_and_index_at_once", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_INVALID", headers=JSON,
        body=manifest_with(manifests=[])),
    Req("index_with_unknown_child", "PUT", "/v2/seed/app/manifests/bad", 400, "MANIFEST_BLOB_UNKNOWN",
        headers=[("Content-Type", OCI_INDEX)],
        body=json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": OTHER, "size": 10}]}).encode()),
    # -- methods and headers -------------------------------------------------------------------------
    Req("method_trace", "TRACE", "/v2/", 405),
    Req("method_propfind", "PROPFIND", "/v2/seed/app/tags/list", 405),
    Req("post_to_a_manifest", "POST", "/v2/seed/app/manifests/v1", 405, "UNSUPPORTED"),
    Req("header_of_100kB", "GET", "/v2/", (200, 400, 431), headers=[("X-Big", "a" * 100_000)]),
    Req("thousand_headers", "GET", "/v2/", (200, 400, 431), headers=[(f"X-H{i}", "v") for i in range(1000)]),
    # -- auth (a private registry) ---------------------------------------------------------------------
    Req("anonymous_on_private", "GET", "/v2/seed/app/tags/list", 401, "UNAUTHORIZED", private=True),
    Req("basic_not_base64", "GET", "/v2/", 401, "UNAUTHORIZED", private=True,
        headers=[("Authorization", "Basic !!!***")]),
    Req("basic_without_colon", "GET", "/v2/", 401, "UNAUTHORIZED", private=True, headers=basic(USER.encode())),
    Req("basic_not_utf8", "GET", "/v2/", 401, "UNAUTHORIZED", private=True, headers=basic(b"\xff\xfe:\xfd")),
    Req("basic_empty", "GET", "/v2/", 401, "UNAUTHORIZED", private=True, headers=[("Authorization", "Basic ")]),
    Req("basic_scheme_only", "GET", "/v2/", 401, "UNAUTHORIZED", private=True, headers=[("Authorization", "Basic")]),
    Req("basic_wrong_password", "GET", "/v2/", 401, "UNAUTHORIZED", private=True,
        headers=basic(f"{USER}:not-it".encode())),
    Req("basic_password_over_72_bytes", "GET", "/v2/", 401, "UNAUTHORIZED", private=True,
        headers=basic(f"{USER}:{PASSWORD}{'x' * 100}".encode())),
    Req("basic_60kB", "GET", "/v2/", (401, 400, 431), private=True, headers=basic(b"u:" + b"p" * 45_000)),
    Req("basic_unknown_user_nul", "GET", "/v2/", 401, "UNAUTHORIZED", private=True, headers=basic(b"root\x00:x")),
    Req("bearer_garbage", "GET", "/v2/seed/app/tags/list", 401, "UNAUTHORIZED", private=True,
        headers=[("Authorization", "Bearer garbage")]),
    Req("bearer_bad_base64", "GET", "/v2/seed/app/tags/list", 401, "UNAUTHORIZED", private=True,
        headers=[("Authorization", "Bearer a.b!.c")]),
    Req("bearer_forged", "GET", "/v2/seed/app/tags/list", 401, "UNAUTHORIZED", private=True,
        headers=[("Authorization", "Bearer " + token(b"guessed secret", GOOD_CLAIMS))]),
    Req("bearer_alg_none", "GET", "/v2/seed/app/tags/list", 401, "UNAUTHORIZED", private=True,
        headers=[("Authorization", "Bearer " + token(b"", GOOD_CLAIMS, alg="none"))]),
    Req("bearer_huge", "GET", "/v2/seed/app/tags/list", (401, 400, 431), private=True,
        headers=[("Authorization", "Bearer " + "a." * 30_000 + "b")]),
    Req("scheme_negotiate", "GET", "/v2/", 401, "UNAUTHORIZED", private=True,
        headers=[("Authorization", "Negotiate YIIB")]),
    Req("authorization_latin1", "GET", "/v2/", 401, "UNAUTHORIZED", private=True,
        headers=[("Authorization", "Basic \xe9\xe8\xff")]),
    Req("token_with_bearer", "GET", "/token?service=minidock", 401, "UNAUTHORIZED", private=True,
        headers=[("Authorization", "Bearer x.y.z")]),
    Req("token_form_not_utf8", "POST", "/token", 400, "UNSUPPORTED", private=True,
        headers=[("Content-Type", "application/x-www-form-urlencoded")], body=b"grant_type=password&username=\xff"),
    Req("token_form_wrong_grant", "POST", "/token", 400, "UNSUPPORTED", private=True,
        headers=[("Content-Type", "application/x-www-form-urlencoded")], body=b"grant_type=client_credentials"),
    Req("token_form_bad_password", "POST", "/token", 401, "UNAUTHORIZED", private=True,
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=f"grant_type=password&username={USER}&password=nope".encode()),
    Req("token_form_too_large", "POST", "/token", 400, "UNSUPPORTED", private=True,
        headers=[("Content-Type", "application/x-www-form-urlencoded")], body=b"a=" + b"b" * 70_000),
    Req("host_header_injection", "GET", "/v2/seed/app/tags/list", 401, "UNAUTHORIZED", private=True,
        host=b'evil.example",realm="http://evil.example/token', check=no_evil_realm),
]


def state_of(data_dir: Path) -> dict[str, object]:
    """What a refused request must not change: every blob, repository entry and tag."""
    return {"top": sorted(p.name for p in data_dir.iterdir()),
            "store": listing(data_dir, skip=(data_dir / "uploads",))}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    top = tmp_path_factory.mktemp("registry-hostile")
    for side in ("open", "private"):
        (top / side / "sentinel").mkdir(parents=True)
        (top / side / "sentinel" / "secret").write_text("do not touch\n")
    add_user(top / "htpasswd", USER, PASSWORD, rounds=4)
    image = make_image([Layer.of(tar_of({"hello.txt": b"hello\n"}))])
    with RegistryServer(top / "open" / "data") as opened, \
            RegistryServer(top / "private" / "data", auth_mode="private", htpasswd=top / "htpasswd") as private:
        with httpx.Client(base_url=opened.url, timeout=30) as client:
            push_raw(client, "seed/app", "v1", image)
        with httpx.Client(base_url=private.url, timeout=30, auth=(USER, PASSWORD)) as client:
            push_raw(client, "seed/app", "v1", image)
        yield Env(opened, private, image)


def resolve(value: Target | Body, env: Env) -> str | bytes:
    return value(env) if callable(value) else value


@pytest.mark.parametrize("req", REQUESTS, ids=[r.name for r in REQUESTS])
def test_hostile_request(req: Req, env: Env, caplog: pytest.LogCaptureFixture) -> None:
    server = env.private if req.private else env.open
    with TALLY.case(req.name):
        caplog.set_level(logging.ERROR, logger="minidock_magic.registry")
        if req.needs_upload:
            started = request(("127.0.0.1", server.port), "POST", "/v2/seed/app/blobs/uploads/")
            assert started.status == 202
            env.upload = started.headers["location"].rsplit("/", 1)[1]
        parent = server.data_dir.parent
        outside, inside = listing(parent, skip=(server.data_dir,)), state_of(server.data_dir)
        answer = request(("127.0.0.1", server.port), req.method, resolve(req.target, env),  # type: ignore[arg-type]
                         headers=req.headers, body=resolve(req.body, env),  # type: ignore[arg-type]
                         raw_headers=req.raw_headers, content_length=req.content_length, host=req.host)
        assert answer.status != 0, "the server hung up without answering"
        assert answer.status < 500, f"{answer.status}: {answer.body[:300]!r}"
        expected = req.status if isinstance(req.status, tuple) else (req.status,)
        assert answer.status in expected, f"{answer.status} (wanted {expected}): {answer.body[:300]!r}"
        if req.code is not None:
            assert answer.code == req.code, answer.body[:300]
        if req.check is not None:
            req.check(answer)
        assert not [r for r in caplog.records if r.name.startswith("minidock_magic.registry")], \
            [r.getMessage() for r in caplog.records]
        assert listing(parent, skip=(server.data_dir,)) == outside, "something changed outside the data dir"
        assert state_of(server.data_dir) == inside, "a refused request changed the registry's data"
        if req.needs_upload:
            location = f"/v2/seed/app/blobs/uploads/{env.upload}"
            assert upload_offset_at(server, location) == 0  # still there, and nothing was appended
            assert request(("127.0.0.1", server.port), "DELETE",
                           f"/v2/seed/app/blobs/uploads/{env.upload}").status == 204


def test_hostile_request_suite_size() -> None:
    assert len(REQUESTS) >= 40 and len({r.name for r in REQUESTS}) == len(REQUESTS)


# -- slow and abandoned clients ------------------------------------------------------------------------
def _open_upload(server: RegistryServer, repo: str = "slow/app") -> str:
    answer = request(("127.0.0.1", server.port), "POST", f"/v2/{repo}/blobs/uploads/")
    assert answer.status == 202
    return answer.headers["location"]


def test_half_a_blob_then_gone(tmp_path: Path) -> None:
    """A client sends half of a chunk and disconnects: nothing of it is committed, no blob is
    visible, the upload resumes from where it stood (0), and a cancelled one leaves nothing."""
    blob = os.urandom(1 << 20)
    digest = sha256(blob)
    with SLOW_TALLY.case("half_a_blob_then_gone"), RegistryServer(tmp_path / "data") as server:
        address = ("127.0.0.1", server.port)
        location = _open_upload(server)
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(blob)}\r\n"
                         f"Content-Range: 0-{len(blob) - 1}\r\n\r\n".encode() + blob[: len(blob) // 2])
            time.sleep(0.2)
        time.sleep(0.3)
        assert request(address, "HEAD", f"/v2/slow/app/blobs/{digest}").status == 404
        assert not list((tmp_path / "data" / "blobs").rglob("*/*"))
        assert upload_offset_at(server, location) == 0
        # resumable: the whole chunk again, from 0, completes it
        assert request(address, "PATCH", location, body=blob,
                       headers=[("Content-Range", f"0-{len(blob) - 1}")]).status == 202
        done = request(address, "PUT", f"{location}?digest={digest}")
        assert done.status == 201, done.body
        assert request(address, "HEAD", f"/v2/slow/app/blobs/{digest}").status == 200
        # abandoned: a second half-sent upload, cancelled, leaves no trace
        location = _open_upload(server)
        with socket.create_connection(address, timeout=10) as sock:
            sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode() + b"x" * 10)
        assert request(address, "DELETE", location).status == 204
        assert not list((tmp_path / "data" / "uploads").iterdir())
        assert request(address, "GET", location).code == "BLOB_UPLOAD_UNKNOWN"


def upload_offset_at(server: RegistryServer, location: str) -> int:
    answer = request(("127.0.0.1", server.port), "GET", location)
    assert answer.status == 204, answer
    return 0 if answer.headers["range"] == "0-0" else int(answer.headers["range"].split("-")[1]) + 1


def test_slow_clients_do_not_block_others(tmp_path: Path) -> None:
    """Slowloris: connections that dribble headers or a body a byte at a time, and idle ones,
    while other clients push and pull at full speed."""
    with SLOW_TALLY.case("slowloris"), RegistryServer(tmp_path / "data") as server:
        address = ("127.0.0.1", server.port)
        stop = threading.Event()
        location = _open_upload(server)

        def dribble_body() -> None:
            with socket.create_connection(address, timeout=30) as sock:
                sock.sendall(f"PATCH {location} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".encode())
                while not stop.wait(0.05):
                    sock.sendall(b"x")

        def dribble_headers() -> None:
            with socket.create_connection(address, timeout=30) as sock:
                sock.sendall(b"GET /v2/ HTTP/1.1\r\n")
                while not stop.wait(0.05):
                    sock.sendall(b"X-a: b\r\n")

        idle = [socket.create_connection(address, timeout=30) for _ in range(20)]
        slow = [threading.Thread(target=dribble_body), threading.Thread(target=dribble_headers)]
        for thread in slow:
            thread.start()
        try:
            time.sleep(0.2)
            image = make_image([Layer.of(tar_of({"fast.txt": os.urandom(200_000)}))])
            for round_ in range(5):
                started = time.monotonic()
                with httpx.Client(base_url=server.url, timeout=5) as client:
                    push_raw(client, f"fast/app{round_}", "v1", image)
                    assert client.get(f"/v2/fast/app{round_}/manifests/v1",
                                      headers={"Accept": OCI_MANIFEST}).content == image.manifest
                    assert client.get(f"/v2/fast/app{round_}/blobs/{sha256(image.layers[0].blob)}").content \
                        == image.layers[0].blob
                assert time.monotonic() - started < 3, "a fast client waited on the slow ones"
        finally:
            stop.set()
            for thread in slow:
                thread.join(10)
            for sock in idle:
                sock.close()
        with socket.create_connection(address, timeout=10) as sock:  # the server is still fine
            sock.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert read_answer(sock).status == 200
