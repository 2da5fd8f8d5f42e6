"""Properties of the parsers that read what strangers send: the registry's route table, its
manifest checks, and the OCI manifest/index parser. Whatever the text, they answer with the
project's own errors (``MinidockError``: one line, a status code) — never anything else."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from minidock_magic.errors import MinidockError
from minidock_magic.oci import mediatypes as mt
from minidock_magic.oci.manifest import Index, Manifest, parse_any
from minidock_magic.registry import manifests
from minidock_magic.registry.routes import match, paginate, parse_content_range
from minidock_magic.registry.server import parse_addr
from tests.reliability.conftest import Tally

TALLY = Tally("parsers: property tests (hypothesis)")
PROFILE = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DIGEST = "sha256:" + "ab" * 32
METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "get", ""])
WORDS = st.sampled_from(["blobs", "uploads", "manifests", "tags", "list", "referrers", "_catalog", "..", ".",
                         "", "v2", DIGEST, "latest", "a", "A", "sha256:", "%2e%2e", "\x00", "token",
                         "2f1c3a52-7a0e-4f5c-9d55-0c2e0d7c8d11"])
PATHS = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=12).map(lambda parts: "/v2/" + "/".join(parts)),
    st.lists(WORDS, max_size=8).map(lambda parts: "/" + "/".join(parts)),
)
QUERIES = st.dictionaries(st.sampled_from(["digest", "mount", "from", "n", "last", "tag"]) | st.text(max_size=5),
                          st.text(max_size=80) | st.just(DIGEST), max_size=4)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
MEDIA_TYPES = st.sampled_from([None, "", mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST,
                               mt.DOCKER_MANIFEST_LIST, "application/json", "text/plain; charset=x",
                               mt.OCI_MANIFEST + "; q=1"]) | st.text(max_size=40)
FIELDS = ["schemaVersion", "mediaType", "config", "layers", "manifests", "subject", "annotations",
          "artifactType", "digest", "size", "urls", "platform"]


def valid_manifest() -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": DIGEST, "size": 2},
            "layers": [{"mediaType": mt.OCI_LAYER_BY_COMPRESSION["gzip"], "digest": DIGEST, "size": 3}]}


def valid_index() -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [
        {"mediaType": mt.OCI_MANIFEST, "digest": DIGEST, "size": 5,
         "platform": {"os": "linux", "architecture": "amd64"}}]}


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    """A valid manifest or index with fields replaced, removed or nested strangely."""
    doc = draw(st.sampled_from([valid_manifest, valid_index]))()
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(FIELDS))
        target = doc
        if draw(st.booleans()) and isinstance(doc.get("layers") or doc.get("manifests"), list):
            items = doc.get("layers") or doc.get("manifests")
            if items and isinstance(items[0], dict):
                target = items[0]
        if draw(st.booleans()):
            target.pop(key, None)
        else:
            target[key] = draw(JSON_VALUES)
    return json.dumps(doc).encode()


BODIES = st.one_of(st.binary(max_size=400), JSON_VALUES.map(lambda v: json.dumps(v).encode()), mutated_documents())


def only_our_errors(call: Callable[[], object]) -> None:
    try:
        call()
    except MinidockError:
        pass  # the project's own error: a status code and a message to answer with


def counted(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Tally a property once (its examples all held, or it failed)."""
    def wrap(test: Callable[..., None]) -> Callable[..., None]:
        def run(*args: object, **kwargs: object) -> None:
            with TALLY.case(name):
                test(*args, **kwargs)
        run.__name__ = test.__name__
        return run
    return wrap


@PROFILE
@given(METHODS, PATHS, QUERIES)
@example("GET", "/v2/" + "a/" * 600 + "tags/list", {})
@example("PUT", "/v2/a/manifests/" + "x" * 200, {"tag": "../x"})
@example("POST", "/v2/a/blobs/uploads/", {"mount": "sha256:zz", "from": "../b"})
def _route_property(method: str, path: str, query: dict[str, str]) -> None:
    only_our_errors(lambda: match(method, path, query))


@PROFILE
@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=25)), st.one_of(st.none(), st.text(max_size=10)))
@example("0-" + "9" * 40, "-1", None)
@example("0-1", "\u00b2", None)  # str.isdigit() says yes, int() says no
@example("1-2", None, "127.0.0.1:\u00b2")
def _range_and_page_property(content_range: str, n: str | None, last: str | None) -> None:
    only_our_errors(lambda: parse_content_range(content_range))
    only_our_errors(lambda: paginate(["a", "b", "c"], n, last))
    only_our_errors(lambda: parse_addr(last or content_range))  # `registry serve --addr`


@PROFILE
@given(BODIES, MEDIA_TYPES)
@example(b"[" * 100_000 + b"]" * 100_000, None)
@example(b'{"schemaVersion": 2, "config": {"digest": "sha256:1", "size": 1e400}}', None)
def _registry_manifest_property(body: bytes, content_type: str | None) -> None:
    only_our_errors(lambda: manifests.validate(body, content_type))
    blobs, children = manifests.referenced_digests(body)  # the garbage collector's reader never raises
    assert isinstance(blobs, set) and isinstance(children, set)
    only_our_errors(lambda: manifests.media_type_of(content_type))


@settings(PROFILE, report_multiple_bugs=False)
@given(BODIES, MEDIA_TYPES)
@example(b'{"mediaType": [null], "config": {}, "layers": []}', None)
def _oci_manifest_property(body: bytes, media_type: str | None) -> None:
    only_our_errors(lambda: parse_any(body, media_type))
    only_our_errors(lambda: Manifest.parse(body, media_type))
    only_our_errors(lambda: Index.parse(body, media_type))


test_route_parser_raises_only_our_errors = counted("routes.match")(_route_property)
test_content_range_and_pagination_raise_only_our_errors = counted("routes.parse_content_range/paginate, server.parse_addr")(
    _range_and_page_property)
test_registry_manifest_checks_raise_only_our_errors = counted("registry.manifests.validate")(
    _registry_manifest_property)
test_oci_manifest_parser_raises_only_our_errors = counted("oci.manifest.parse_any/Manifest/Index")(
    _oci_manifest_property)


def test_oci_parser_on_deeply_nested_json() -> None:
    only_our_errors(lambda: parse_any(b"[" * 100_000 + b"]" * 100_000))
