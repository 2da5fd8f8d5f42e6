"""Every endpoint over a real socket: a RegistryServer on 127.0.0.1 and httpx.

Covers the distribution-spec conformance categories (pull, push, content discovery, content
management) with the spec's status codes, headers and error codes. The ``client`` fixture checks
every response for ``Docker-Distribution-API-Version`` and the absence of 5xx.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from minidock_magic.registry import RegistryServer
from minidock_magic.registry.manifests import MAX_MANIFEST_BYTES

from .conftest import OCI_INDEX, OCI_MANIFEST, Pusher, descriptor, make_image, sha256
from .helpers import raw_request

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"errors"} and set(body["errors"][0]) == {"code", "message", "detail"}
    return body["errors"][0]["code"]


# -- end-1 -----------------------------------------------------------------------------------------
def test_base(client: httpx.Client) -> None:
    r = client.get("/v2/")
    assert r.status_code == 200 and r.json() == {}
    assert client.head("/v2/").status_code == 200


# -- pull: end-2, end-3 ----------------------------------------------------------------------------
def test_blob_get_head_and_range(client: httpx.Client, push: Pusher) -> None:
    data = b"0123456789" * 100
    digest = push.blob("me/app", data)
    head = client.head(f"/v2/me/app/blobs/{digest}")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Length"] == str(len(data)) and head.headers["Docker-Content-Digest"] == digest
    get = client.get(f"/v2/me/app/blobs/{digest}")
    assert get.content == data and get.headers["Docker-Content-Digest"] == digest
    part = client.get(f"/v2/me/app/blobs/{digest}", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert client.get(f"/v2/me/app/blobs/{digest}", headers={"Range": "bytes=5000-"}).status_code == 416


def test_blob_unknown(client: httpx.Client, push: Pusher) -> None:
    digest = push.blob("me/app", b"only here")
    missing = client.get(f"/v2/me/app/blobs/{sha256(b'nope')}")
    assert missing.status_code == 404 and error_code(missing) == "BLOB_UNKNOWN"
    other_repo = client.get(f"/v2/me/other/blobs/{digest}")  # stored, but not linked into that repository
    assert other_repo.status_code == 404 and error_code(other_repo) == "BLOB_UNKNOWN"
    head = client.head(f"/v2/me/app/blobs/{sha256(b'nope')}")
    assert head.status_code == 404 and head.content == b""


def test_manifest_push_and_pull(client: httpx.Client, push: Pusher) -> None:
    image = make_image()
    for blob in image.blobs:
        push.blob("me/app", blob)
    put = push.manifest("me/app", "v1", image.manifest)
    assert put.headers["Location"] == f"/v2/me/app/manifests/{image.digest}"
    assert put.headers["Docker-Content-Digest"] == image.digest
    for reference in ("v1", image.digest):
        get = client.get(f"/v2/me/app/manifests/{reference}", headers={"Accept": OCI_MANIFEST})
        assert get.status_code == 200 and get.content == image.manifest  # byte-exact
        assert get.headers["Content-Type"] == OCI_MANIFEST and get.headers["Docker-Content-Digest"] == image.digest
        head = client.head(f"/v2/me/app/manifests/{reference}")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["Content-Length"] == str(len(image.manifest))
        assert head.headers["Docker-Content-Digest"] == image.digest


def test_manifest_put_by_digest_and_docker_types(client: httpx.Client, push: Pusher) -> None:
    image = make_image()
    for blob in image.blobs:
        push.blob("me/app", blob)
    assert push.manifest("me/app", image.digest, image.manifest).status_code == 201
    docker = json.loads(image.manifest) | {"mediaType": DOCKER_MANIFEST}
    body = json.dumps(docker, indent=3).encode()
    push.manifest("me/app", "docker", body, DOCKER_MANIFEST)
    get = client.get("/v2/me/app/manifests/docker")
    assert get.content == body and get.headers["Content-Type"] == DOCKER_MANIFEST
    wrong = client.put(f"/v2/me/app/manifests/{sha256(b'x')}", content=image.manifest,
                       headers={"Content-Type": OCI_MANIFEST})
    assert wrong.status_code == 400 and error_code(wrong) == "DIGEST_INVALID"


def test_manifest_unknown(client: httpx.Client, push: Pusher) -> None:
    r = client.get("/v2/nobody/here/manifests/latest")
    assert r.status_code == 404 and error_code(r) == "NAME_UNKNOWN"
    push.image("me/app", "v1", make_image())
    for reference in ("v2", sha256(b"x")):
        r = client.get(f"/v2/me/app/manifests/{reference}")
        assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"


# -- push: end-4a/4b, end-5, end-6, end-13, end-7 ----------------------------------------------------
def test_post_then_put(client: httpx.Client) -> None:
    start = client.post("/v2/me/app/blobs/uploads/")
    assert start.status_code == 202 and start.headers["Range"] == "0-0"
    location, upload_id = start.headers["Location"], start.headers["Docker-Upload-UUID"]
    assert location == f"/v2/me/app/blobs/uploads/{upload_id}"
    data = b"one PUT with the whole blob"
    done = client.put(location, params={"digest": sha256(data)}, content=data)
    assert done.status_code == 201 and done.headers["Location"] == f"/v2/me/app/blobs/{sha256(data)}"
    assert done.headers["Docker-Content-Digest"] == sha256(data)
    assert client.get(f"/v2/me/app/blobs/{sha256(data)}").content == data


def test_chunked_upload_with_content_range(client: httpx.Client) -> None:
    data = b"abcdefghijklmnopqrstuvwxyz"
    location = client.post("/v2/me/app/blobs/uploads/").headers["Location"]
    first = client.patch(location, content=data[:10], headers={"Content-Range": "0-9"})
    assert first.status_code == 202 and first.headers["Range"] == "0-9" and first.headers["Location"] == location
    out_of_order = client.patch(location, content=data[20:], headers={"Content-Range": "20-25"})
    assert out_of_order.status_code == 416 and error_code(out_of_order) == "BLOB_UPLOAD_INVALID"
    assert out_of_order.headers["Range"] == "0-9"  # tells the client where to resume
    malformed = client.patch(location, content=data[10:20], headers={"Content-Range": "ten-twenty"})
    assert malformed.status_code == 416
    mismatched = client.patch(location, content=data[10:20], headers={"Content-Range": "10-29"})
    assert mismatched.status_code == 416
    status = client.get(location)
    assert status.status_code == 204 and status.headers["Range"] == "0-9"
    assert client.patch(location, content=data[10:20], headers={"Content-Range": "10-19"}).status_code == 202
    done = client.put(location, params={"digest": sha256(data)}, content=data[20:],
                      headers={"Content-Range": "20-25"})
    assert done.status_code == 201
    assert client.get(f"/v2/me/app/blobs/{sha256(data)}").content == data


def test_streamed_patch_without_content_range(client: httpx.Client) -> None:
    """skopeo, podman and docker: POST, one streamed PATCH (chunked encoding), PUT ?digest=."""
    chunks = [bytes([i]) * 100_000 for i in range(30)]
    location = client.post("/v2/me/app/blobs/uploads/").headers["Location"]
    r = client.patch(location, content=iter(chunks))
    assert r.status_code == 202 and r.headers["Range"] == f"0-{3_000_000 - 1}"
    data = b"".join(chunks)
    assert client.put(r.headers["Location"], params={"digest": sha256(data)}).status_code == 201
    assert client.head(f"/v2/me/app/blobs/{sha256(data)}").headers["Content-Length"] == str(len(data))


def test_wrong_digest_stores_nothing(client: httpx.Client, data_dir: Path) -> None:
    location = client.post("/v2/me/app/blobs/uploads/").headers["Location"]
    client.patch(location, content=b"actual")
    r = client.put(location, params={"digest": sha256(b"claimed")})
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    mono = client.post("/v2/me/app/blobs/uploads/", params={"digest": sha256(b"claimed")}, content=b"actual")
    assert mono.status_code == 400 and error_code(mono) == "DIGEST_INVALID"
    for digest in (sha256(b"actual"), sha256(b"claimed")):
        assert client.head(f"/v2/me/app/blobs/{digest}").status_code == 404
    assert not any(p.is_file() for p in (data_dir / "blobs").rglob("*"))
    assert not any((data_dir / "uploads").iterdir()), "failed uploads are discarded"


def test_upload_errors(client: httpx.Client) -> None:
    location = client.post("/v2/me/app/blobs/uploads/").headers["Location"]
    no_digest = client.put(location, content=b"x")
    assert no_digest.status_code == 400 and error_code(no_digest) == "DIGEST_INVALID"
    bad_digest = client.put(location, params={"digest": "sha256:short"})
    assert bad_digest.status_code == 400 and error_code(bad_digest) == "DIGEST_INVALID"
    elsewhere = client.get(location.replace("/me/app/", "/me/other/"))
    assert elsewhere.status_code == 404 and error_code(elsewhere) == "BLOB_UPLOAD_UNKNOWN"
    for bogus in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        r = client.patch(f"/v2/me/app/blobs/uploads/{bogus}", content=b"x")
        assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"
    bad_length = client.patch(location, content=b"abc", headers={"Content-Length": "3", "Content-Range": "0-"})
    assert bad_length.status_code == 416


def test_cancel_upload(client: httpx.Client) -> None:
    location = client.post("/v2/me/app/blobs/uploads/").headers["Location"]
    client.patch(location, content=b"some bytes")
    assert client.delete(location).status_code == 204
    r = client.get(location)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"
    assert client.delete(location).status_code == 404


def test_manifest_with_missing_blob(client: httpx.Client, push: Pusher) -> None:
    image = make_image()
    push.blob("me/app", image.config)  # the layer is never pushed
    r = client.put("/v2/me/app/manifests/v1", content=image.manifest, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": [descriptor(OCI_MANIFEST, image.manifest)]}).encode()
    r = client.put("/v2/me/app/manifests/multi", content=index, headers={"Content-Type": OCI_INDEX})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    assert client.get("/v2/me/app/manifests/v1").status_code == 404


def test_index_of_pushed_manifests(client: httpx.Client, push: Pusher) -> None:
    image = make_image()
    push.image("me/app", image.digest, image)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": [descriptor(OCI_MANIFEST, image.manifest,
                                                 platform={"architecture": "amd64", "os": "linux"})]}).encode()
    push.manifest("me/app", "multi", index, OCI_INDEX)
    assert client.get("/v2/me/app/manifests/multi").headers["Content-Type"] == OCI_INDEX


def test_manifest_size_limit(client: httpx.Client) -> None:
    big = b"{" + b" " * MAX_MANIFEST_BYTES + b"}"
    r = client.put("/v2/me/app/manifests/big", content=big, headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 413 and error_code(r) == "SIZE_INVALID"
    streamed = client.put("/v2/me/app/manifests/big", content=iter([big[:1 << 20]] * 5),
                          headers={"Content-Type": OCI_MANIFEST})
    assert streamed.status_code == 413


def test_invalid_manifests(client: httpx.Client) -> None:
    for body, content_type in ((b"{nope", OCI_MANIFEST), (b'{"schemaVersion": 2, "manifests": [], "layers": []}',
                                                           OCI_INDEX)):
        r = client.put("/v2/me/app/manifests/bad", content=body, headers={"Content-Type": content_type})
        assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"
    r = client.put("/v2/me/app/manifests/.bad", content=b"{}", headers={"Content-Type": OCI_MANIFEST})
    assert r.status_code == 400 and error_code(r) == "TAG_INVALID"


# -- content discovery: end-8, catalog, end-12 --------------------------------------------------------
def follow(client: httpx.Client, url: str, key: str) -> tuple[list[str], int]:
    items, pages = [], 0
    while url:
        r = client.get(url)
        assert r.status_code == 200
        items += r.json()[key]
        pages += 1
        link = r.headers.get("Link")
        url = link[1:link.index(">")] if link else ""
        assert not link or link.endswith('rel="next"')
    return items, pages


def test_tags_pagination(client: httpx.Client, push: Pusher) -> None:
    image = make_image()
    push.image("me/app", "a", image)
    tags = ["a", "b", "c", "d", "e"]
    for tag in tags[1:]:
        push.manifest("me/app", tag, image.manifest)
    whole = client.get("/v2/me/app/tags/list")
    assert whole.json() == {"name": "me/app", "tags": tags} and "Link" not in whole.headers
    page = client.get("/v2/me/app/tags/list", params={"n": 2})
    assert page.json()["tags"] == ["a", "b"]
    assert page.headers["Link"] == '</v2/me/app/tags/list?n=2&last=b>; rel="next"'
    assert follow(client, "/v2/me/app/tags/list?n=2", "tags") == (tags, 3)
    assert client.get("/v2/me/app/tags/list", params={"n": 2, "last": "c"}).json()["tags"] == ["d", "e"]
    assert client.get("/v2/me/app/tags/list", params={"n": 0}).json()["tags"] == []
    bad = client.get("/v2/me/app/tags/list", params={"n": "-3"})
    assert bad.status_code == 400
    unknown = client.get("/v2/nobody/tags/list")
    assert unknown.status_code == 404 and error_code(unknown) == "NAME_UNKNOWN"


def test_catalog_pagination(client: httpx.Client, push: Pusher) -> None:
    names = ["a/x", "b", "b/y", "c/d/e"]
    for name in names:
        push.image(name, "v1", make_image())
    assert client.get("/v2/_catalog").json() == {"repositories": names}
    assert follow(client, "/v2/_catalog?n=3", "repositories") == (names, 2)
    assert client.get("/v2/_catalog", params={"n": 1, "last": "b"}).json() == {"repositories": ["b/y"]}


def test_referrers(client: httpx.Client, push: Pusher) -> None:
    image = make_image()
    push.image("me/app", "v1", image)
    empty = b"{}"
    push.blob("me/app", empty)
    signature_type, sbom_type = "application/vnd.example.signature", "application/vnd.example.sbom"
    artifacts = []
    for artifact_type in (signature_type, sbom_type):
        artifact = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
            "config": descriptor("application/vnd.oci.empty.v1+json", empty),
            "layers": [descriptor("application/vnd.oci.empty.v1+json", empty)],
            "subject": descriptor(OCI_MANIFEST, image.manifest),
            "annotations": {"org.example.kind": artifact_type}}).encode()
        put = push.manifest("me/app", sha256(artifact), artifact)
        assert put.headers["OCI-Subject"] == image.digest
        artifacts.append(artifact)
    r = client.get(f"/v2/me/app/referrers/{image.digest}")
    assert r.status_code == 200 and r.headers["Content-Type"] == OCI_INDEX
    index = r.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    assert {m["digest"] for m in index["manifests"]} == {sha256(a) for a in artifacts}
    entry = next(m for m in index["manifests"] if m["digest"] == sha256(artifacts[0]))
    assert entry == {"mediaType": OCI_MANIFEST, "digest": sha256(artifacts[0]), "size": len(artifacts[0]),
                     "artifactType": signature_type, "annotations": {"org.example.kind": signature_type}}
    filtered = client.get(f"/v2/me/app/referrers/{image.digest}", params={"artifactType": sbom_type})
    assert filtered.headers["OCI-Filters-Applied"] == "artifactType"
    assert [m["digest"] for m in filtered.json()["manifests"]] == [sha256(artifacts[1])]
    assert client.get(f"/v2/me/app/referrers/{sha256(b'no such')}").json()["manifests"] == []
    bad = client.get("/v2/me/app/referrers/sha256:bad")
    assert bad.status_code == 400 and error_code(bad) == "DIGEST_INVALID"
    assert client.delete(f"/v2/me/app/manifests/{sha256(artifacts[0])}").status_code == 202
    after = client.get(f"/v2/me/app/referrers/{image.digest}").json()["manifests"]
    assert [m["digest"] for m in after] == [sha256(artifacts[1])]


# -- content management: end-9, end-10, end-11 ---------------------------------------------------------
def test_delete_manifest_and_tag(client: httpx.Client, push: Pusher) -> None:
    image = make_image()
    push.image("me/app", "v1", image)
    push.manifest("me/app", "v2", image.manifest)
    assert client.delete("/v2/me/app/manifests/v1").status_code == 202  # a tag: only the tag goes
    assert client.get("/v2/me/app/tags/list").json()["tags"] == ["v2"]
    assert client.get(f"/v2/me/app/manifests/{image.digest}").status_code == 200
    assert client.delete(f"/v2/me/app/manifests/{image.digest}").status_code == 202  # with every tag
    assert client.get("/v2/me/app/tags/list").json()["tags"] == []
    gone = client.get(f"/v2/me/app/manifests/{image.digest}")
    assert gone.status_code == 404 and error_code(gone) == "MANIFEST_UNKNOWN"
    again = client.delete(f"/v2/me/app/manifests/{image.digest}")
    assert again.status_code == 404 and error_code(again) == "MANIFEST_UNKNOWN"
    assert client.delete("/v2/me/app/manifests/v1").status_code == 404


def test_delete_blob(client: httpx.Client, push: Pusher) -> None:
    digest = push.blob("me/app", b"to be deleted")
    assert client.delete(f"/v2/me/app/blobs/{digest}").status_code == 202
    assert client.head(f"/v2/me/app/blobs/{digest}").status_code == 404
    again = client.delete(f"/v2/me/app/blobs/{digest}")
    assert again.status_code == 404 and error_code(again) == "BLOB_UNKNOWN"


def test_cross_repository_mount(client: httpx.Client, push: Pusher) -> None:
    digest = push.blob("team/base", b"a shared base layer")
    r = client.post("/v2/me/app/blobs/uploads/", params={"mount": digest, "from": "team/base"})
    assert r.status_code == 201 and r.headers["Location"] == f"/v2/me/app/blobs/{digest}"
    assert r.headers["Docker-Content-Digest"] == digest
    assert client.get(f"/v2/me/app/blobs/{digest}").content == b"a shared base layer"
    fallback = client.post("/v2/me/app/blobs/uploads/", params={"mount": sha256(b"nope"), "from": "team/base"})
    assert fallback.status_code == 202 and "Docker-Upload-UUID" in fallback.headers
    junk = client.post("/v2/me/app/blobs/uploads/", params={"mount": "junk", "from": "../x"})
    assert junk.status_code == 202


# -- robustness ---------------------------------------------------------------------------------------
def test_errors_are_spec_shaped(client: httpx.Client) -> None:
    cases = [("GET", "/v2/UPPER/tags/list", 400, "NAME_INVALID"),
             ("GET", "/v2/a/blobs/sha256:zz", 400, "DIGEST_INVALID"),
             ("GET", "/v2/a/manifests/bad@ref", 404, "MANIFEST_UNKNOWN"),
             ("GET", "/v2/a/nothing", 404, "NAME_UNKNOWN"),
             ("GET", "/elsewhere", 404, "NAME_UNKNOWN"),
             ("POST", "/v2/a/manifests/x", 405, "UNSUPPORTED"),
             ("OPTIONS", "/v2/a/tags/list", 405, "UNSUPPORTED")]
    for method, path, status, code in cases:
        r = client.request(method, path)
        assert (r.status_code, error_code(r)) == (status, code), path
    assert "PUT" in client.post("/v2/a/manifests/x").headers["Allow"]


@pytest.mark.parametrize("target", [
    b"/v2/..%2f..%2fetc/tags/list", b"/v2/%2e%2e/%2e%2e/etc/tags/list", b"/v2/a/blobs/uploads/..%2f..%2fstate",
    b"/v2/a/manifests/..%2f..%2f..%2fetc%2fpasswd", b"/v2/a%00b/tags/list", b"/v2/a/blobs/%ff%fe",
])
def test_hostile_paths(server: RegistryServer, target: bytes, data_dir: Path) -> None:
    response = raw_request(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status = int(response.split(b" ", 2)[1])
    assert 400 <= status < 500, response[:200]
    assert b"docker-distribution-api-version: registry/2.0" in response.lower()


def test_bad_headers_and_queries_never_5xx(client: httpx.Client, push: Pusher) -> None:
    location = client.post("/v2/me/app/blobs/uploads/").headers["Location"]
    for headers in ({"Content-Range": "bytes=-"}, {"Content-Range": "9" * 40 + "-1"}, {"Content-Type": "\x01"}):
        client.patch(location, content=b"x", headers=headers)
    client.put("/v2/me/app/manifests/x", content=b"{}", headers={"Content-Type": "a" * 10000})
    client.get("/v2/_catalog", params={"n": "1e9"})
    client.get("/v2/_catalog", params={"last": "\u2603"})
    client.post("/v2/me/app/blobs/uploads/", params={"digest": ""})
    client.post("/v2/me/app/blobs/uploads/", params={"mount": sha256(b"x")})
    client.put(location, params={"digest": sha256(b"x"), "tag": "x"})
    client.put("/v2/me/app/manifests/x", content=b"{}", params={"tag": "../x"})
