"""The route table and its validators: pure, no server."""

from __future__ import annotations

import doctest
import importlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minidock_magic.errors import InvalidArgument, NotFound
from minidock_magic.registry.routes import (
    Endpoint,
    MethodNotAllowed,
    RangeNotSatisfiable,
    match,
    paginate,
    parse_content_range,
    parse_name,
    parse_tag,
    parse_upload_id,
)

DIGEST = "sha256:" + "0123456789abcdef" * 4
UPLOAD = "0b6f3c9e-6a0e-4c3b-9d55-0c2e0d7c8d11"


@pytest.mark.parametrize("module", ["routes", "manifests", "auth", "server"])
def test_doctests(module: str) -> None:
    result = doctest.testmod(importlib.import_module(f"minidock_magic.registry.{module}"))
    assert result.failed == 0 and result.attempted > 0


@pytest.mark.parametrize(("method", "path", "query", "endpoint"), [
    ("GET", "/v2/", {}, Endpoint.BASE),
    ("GET", "/v2", {}, Endpoint.BASE),
    ("HEAD", "/v2/", {}, Endpoint.BASE),
    ("GET", "/v2/_catalog", {}, Endpoint.CATALOG),
    ("GET", "/token", {}, Endpoint.TOKEN),
    ("POST", "/token", {}, Endpoint.TOKEN),
    ("GET", f"/v2/a/b/blobs/{DIGEST}", {}, Endpoint.BLOB),
    ("HEAD", f"/v2/a/b/blobs/{DIGEST}", {}, Endpoint.BLOB),
    ("DELETE", f"/v2/a/b/blobs/{DIGEST}", {}, Endpoint.BLOB_DELETE),
    ("GET", "/v2/a/b/manifests/latest", {}, Endpoint.MANIFEST),
    ("HEAD", f"/v2/a/b/manifests/{DIGEST}", {}, Endpoint.MANIFEST),
    ("PUT", "/v2/a/b/manifests/v1", {}, Endpoint.MANIFEST_PUT),
    ("DELETE", "/v2/a/b/manifests/v1", {}, Endpoint.MANIFEST_DELETE),
    ("POST", "/v2/a/b/blobs/uploads/", {}, Endpoint.UPLOAD_START),
    ("POST", "/v2/a/b/blobs/uploads/", {"digest": DIGEST}, Endpoint.UPLOAD_MONOLITHIC),
    ("POST", "/v2/a/b/blobs/uploads/", {"mount": DIGEST, "from": "c"}, Endpoint.BLOB_MOUNT),
    ("PATCH", f"/v2/a/b/blobs/uploads/{UPLOAD}", {}, Endpoint.UPLOAD_CHUNK),
    ("PUT", f"/v2/a/b/blobs/uploads/{UPLOAD}", {"digest": DIGEST}, Endpoint.UPLOAD_COMPLETE),
    ("GET", f"/v2/a/b/blobs/uploads/{UPLOAD}", {}, Endpoint.UPLOAD_STATUS),
    ("DELETE", f"/v2/a/b/blobs/uploads/{UPLOAD}", {}, Endpoint.UPLOAD_CANCEL),
    ("GET", "/v2/a/b/tags/list", {"n": "3"}, Endpoint.TAGS),
    ("GET", f"/v2/a/b/referrers/{DIGEST}", {}, Endpoint.REFERRERS),
])
def test_route_table(method: str, path: str, query: dict[str, str], endpoint: Endpoint) -> None:
    assert match(method, path, query).endpoint is endpoint


def test_route_components() -> None:
    route = match("GET", f"/v2/library/busy-box/blobs/{DIGEST}")
    assert (route.name, str(route.digest), route.action) == ("library/busy-box", DIGEST, "pull")
    route = match("PUT", "/v2/a/manifests/v1.0")
    assert (route.tag, route.digest, route.action) == ("v1.0", None, "push")
    route = match("DELETE", f"/v2/a/manifests/{DIGEST}")
    assert (route.tag, str(route.digest), route.action) == (None, DIGEST, "delete")
    assert match("PATCH", f"/v2/x/blobs/uploads/{UPLOAD}").upload_id == UPLOAD


def test_names_that_look_like_route_words() -> None:
    assert match("GET", f"/v2/foo/blobs/blobs/{DIGEST}").name == "foo/blobs"
    assert match("GET", "/v2/manifests/manifests/x").name == "manifests"
    assert match("POST", "/v2/blobs/uploads/blobs/uploads/").name == "blobs/uploads"


@pytest.mark.parametrize("name", ["a", "a/b", "library/busybox", "a.b_c__d-e--f", "0/1/2", "x" * 255])
def test_valid_names(name: str) -> None:
    assert parse_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "a/", "/a", "a//b", "..", "../a", "a/../b", "a/./b", "_a", "a_",
                                  "-a", "a-", "a___b", "a..b", "a b", "a\x00b", "é", "a:b", "x" * 256])
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_name(name)
    assert caught.value.registry_code == "NAME_INVALID" and caught.value.http_status == 400


@pytest.mark.parametrize("tag", ["latest", "v1.0", "_x", "A-b_c.d", "x" * 128])
def test_valid_tags(tag: str) -> None:
    assert parse_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".x", "-x", "x" * 129, "a/b", "a:b", "..", "ünï"])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_tag(tag)
    assert caught.value.registry_code == "TAG_INVALID"


@pytest.mark.parametrize("digest", ["sha256:abc", "sha256:" + "G" * 64, "md5:" + "0" * 32, "sha256" + "0" * 64,
                                    "SHA256:" + "0" * 64, "sha256:" + "0" * 63, "sha256:.." + "0" * 62])
def test_invalid_digests(digest: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        match("GET", f"/v2/a/blobs/{digest}")
    assert caught.value.registry_code == "DIGEST_INVALID"


@pytest.mark.parametrize("upload", ["..", "x", UPLOAD.upper(), UPLOAD + "0", "../../etc/passwd"])
def test_invalid_upload_ids(upload: str) -> None:
    with pytest.raises(NotFound) as caught:
        parse_upload_id(upload)
    assert caught.value.registry_code == "BLOB_UPLOAD_UNKNOWN"


def test_unknown_paths_and_methods() -> None:
    with pytest.raises(NotFound):
        match("GET", "/v2/a/b")
    with pytest.raises(NotFound):
        match("GET", "/etc/passwd")
    with pytest.raises(NotFound):
        match("GET", "/v2/" + "a/" * 600 + "tags/list")
    with pytest.raises(MethodNotAllowed) as caught:
        match("POST", "/v2/a/manifests/x")
    assert caught.value.http_status == 405 and "PUT" in caught.value.allow


def test_content_range() -> None:
    assert parse_content_range("0-0") == (0, 0)
    assert parse_content_range("bytes=5-9") == (5, 9)
    for bad in ("", "5", "-5", "a-b", "9-5", "0-1-2", "1" * 30 + "-" + "2" * 30):
        with pytest.raises(RangeNotSatisfiable) as caught:
            parse_content_range(bad)
        assert caught.value.http_status == 416


def test_paginate() -> None:
    items = ["a", "b", "c"]
    assert paginate(items, "0", None) == ([], False)
    assert paginate(items, "3", None) == (items, False)
    assert paginate(items, "1", "b") == (["c"], False)
    assert paginate(items, None, "zz") == ([], False)
    for bad in ("x", "-1", "1.5", "99999999"):
        with pytest.raises(InvalidArgument) as caught:
            paginate(items, bad, None)
        assert caught.value.http_status == 400


@given(st.text(max_size=300))
def test_no_unchecked_text_reaches_a_route(text: str) -> None:
    """Whatever the path, a route's components are grammar-valid (so safe as path parts) or it raises."""
    for suffix in (f"/blobs/{DIGEST}", "/manifests/" + text, "/tags/list", "/blobs/uploads/" + text):
        try:
            route = match("GET", "/v2/" + text + suffix)
        except (InvalidArgument, NotFound, MethodNotAllowed):
            continue
        for part in [*(route.name or "").split("/"), route.tag or "x", route.upload_id or "x"]:
            assert part not in ("", ".", "..") and "\x00" not in part and not part.startswith(("_", "."))
