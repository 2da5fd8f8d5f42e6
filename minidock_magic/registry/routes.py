"""The distribution-spec route table, as pure functions: a request line in, a checked ``Route`` out.

Every component that later names a file (repository name, tag, digest, upload id) is validated
here against the spec's grammar, so no unchecked text ever reaches a filesystem path.

>>> r = match("GET", "/v2/library/busybox/manifests/latest")
>>> r.endpoint.value, r.name, r.reference, r.action
('end-3', 'library/busybox', 'latest', 'pull')
>>> match("PUT", "/v2/me/app/blobs/uploads/2f1c3a52-7a0e-4f5c-9d55-0c2e0d7c8d11", {"digest": "x"}).endpoint.value
'end-6'
>>> match("POST", "/v2/me/app/blobs/uploads/", {"mount": "sha256:" + "a" * 64, "from": "x/y"}).endpoint.value
'end-11'
>>> match("GET", "/v2/Me/app/tags/list")
Traceback (most recent call last):
...
minidock_magic.errors.InvalidArgument: invalid repository name 'Me/app': lowercase letters, digits and separators only
>>> match("GET", "/v2/../etc/blobs/sha256:" + "0" * 64).endpoint
Traceback (most recent call last):
...
minidock_magic.errors.InvalidArgument: invalid repository name '../etc': lowercase letters, digits and separators only
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InvalidArgument, NotFound, Unsupported
from ..oci.digest import Digest
from ..oci.reference import PATH_GRAMMAR, TAG_GRAMMAR

NAME_MAX = 255
PATH_MAX = 1024
#: The reference grammar's repository path and tag (one copy, in oci/reference.py).
NAME_RE, TAG_RE = PATH_GRAMMAR, TAG_GRAMMAR
UPLOAD_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class MethodNotAllowed(Unsupported):
    """The path exists but not with this method (405 + ``Allow``)."""

    http_status = 405

    def __init__(self, message: str, allow: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allow = allow


class RangeNotSatisfiable(InvalidArgument):
    """A chunk that does not start where the upload stands (416)."""

    http_status = 416
    registry_code = "BLOB_UPLOAD_INVALID"


class Endpoint(enum.Enum):
    """The spec's endpoint ids (spec.md, "Endpoints" table) plus docker's catalog and the token service."""

    BASE = "end-1"
    BLOB = "end-2"
    MANIFEST = "end-3"
    UPLOAD_START = "end-4a"
    UPLOAD_MONOLITHIC = "end-4b"
    UPLOAD_CHUNK = "end-5"
    UPLOAD_COMPLETE = "end-6"
    MANIFEST_PUT = "end-7"
    TAGS = "end-8"
    MANIFEST_DELETE = "end-9"
    BLOB_DELETE = "end-10"
    BLOB_MOUNT = "end-11"
    REFERRERS = "end-12"
    UPLOAD_STATUS = "end-13"
    UPLOAD_CANCEL = "upload-cancel"
    CATALOG = "catalog"
    TOKEN = "token"


#: What a request needs from the auth layer: the token-scope action on its repository.
ACTION = {
    Endpoint.BLOB: "pull", Endpoint.MANIFEST: "pull", Endpoint.TAGS: "pull", Endpoint.REFERRERS: "pull",
    Endpoint.UPLOAD_START: "push", Endpoint.UPLOAD_MONOLITHIC: "push", Endpoint.UPLOAD_CHUNK: "push",
    Endpoint.UPLOAD_COMPLETE: "push", Endpoint.MANIFEST_PUT: "push", Endpoint.BLOB_MOUNT: "push",
    Endpoint.UPLOAD_STATUS: "push", Endpoint.UPLOAD_CANCEL: "push",
    Endpoint.MANIFEST_DELETE: "delete", Endpoint.BLOB_DELETE: "delete",
}


@dataclass(frozen=True, slots=True)
class Route:
    endpoint: Endpoint
    name: str | None = None
    #: A manifest reference: a tag or a digest's canonical text.
    reference: str | None = None
    digest: Digest | None = None
    upload_id: str | None = None

    @property
    def action(self) -> str | None:
        return ACTION.get(self.endpoint)

    @property
    def tag(self) -> str | None:
        return self.reference if self.reference is not None and self.digest is None else None


def parse_name(text: str) -> str:
    """A repository name per the spec's grammar (which rules out ``..``, ``_x`` and absolute paths).

    >>> parse_name("a/b-c/d__e")
    'a/b-c/d__e'
    >>> parse_name("a//b")
    Traceback (most recent call last):
    ...
    minidock_magic.errors.InvalidArgument: invalid repository name 'a//b': lowercase letters, digits and separators only
    """
    if len(text) > NAME_MAX:
        raise InvalidArgument(f"repository name longer than {NAME_MAX} characters", code="NAME_INVALID")
    if not NAME_RE.fullmatch(text):
        raise InvalidArgument(f"invalid repository name {text!r}: lowercase letters, digits and separators only",
                              code="NAME_INVALID")
    return text


def parse_tag(text: str) -> str:
    """
    >>> parse_tag("v1.0_rc-2")
    'v1.0_rc-2'
    >>> parse_tag(".hidden")
    Traceback (most recent call last):
    ...
    minidock_magic.errors.InvalidArgument: invalid tag '.hidden': up to 128 of [A-Za-z0-9_.-], not starting with . or -
    """
    if not TAG_RE.fullmatch(text):
        raise InvalidArgument(f"invalid tag {text!r}: up to 128 of [A-Za-z0-9_.-], not starting with . or -",
                              code="TAG_INVALID")
    return text


def parse_upload_id(text: str) -> str:
    """
    >>> parse_upload_id("../../etc")
    Traceback (most recent call last):
    ...
    minidock_magic.errors.NotFound: unknown upload '../../etc'
    """
    if not UPLOAD_ID_RE.fullmatch(text):
        raise NotFound(f"unknown upload {text[:80]!r}", code="BLOB_UPLOAD_UNKNOWN")
    return text


def parse_reference(text: str) -> tuple[str, Digest | None]:
    """A manifest reference: a digest when it has a colon, otherwise a tag.

    >>> parse_reference("latest")
    ('latest', None)
    >>> parse_reference("sha256:" + "ab" * 32)[1].short
    'abababababab'
    """
    if ":" in text:
        digest = Digest.parse(text)
        return str(digest), digest
    return parse_tag(text), None


_NAME = r"(?P<name>.+?)"
_PATTERNS: list[tuple[re.Pattern[str], dict[str, Endpoint]]] = [
    (re.compile(r"/v2/?"), {"GET": Endpoint.BASE, "HEAD": Endpoint.BASE}),
    (re.compile(r"/v2/_catalog"), {"GET": Endpoint.CATALOG}),
    (re.compile(r"/token"), {"GET": Endpoint.TOKEN, "POST": Endpoint.TOKEN}),
    (re.compile(rf"/v2/{_NAME}/blobs/uploads/?"), {"POST": Endpoint.UPLOAD_START}),
    (re.compile(rf"/v2/{_NAME}/blobs/uploads/(?P<upload>[^/]+)"),
     {"PATCH": Endpoint.UPLOAD_CHUNK, "PUT": Endpoint.UPLOAD_COMPLETE, "GET": Endpoint.UPLOAD_STATUS,
      "DELETE": Endpoint.UPLOAD_CANCEL}),
    (re.compile(rf"/v2/{_NAME}/blobs/(?P<digest>[^/]+)"),
     {"GET": Endpoint.BLOB, "HEAD": Endpoint.BLOB, "DELETE": Endpoint.BLOB_DELETE}),
    (re.compile(rf"/v2/{_NAME}/manifests/(?P<reference>[^/]+)"),
     {"GET": Endpoint.MANIFEST, "HEAD": Endpoint.MANIFEST, "PUT": Endpoint.MANIFEST_PUT,
      "DELETE": Endpoint.MANIFEST_DELETE}),
    (re.compile(rf"/v2/{_NAME}/tags/list"), {"GET": Endpoint.TAGS}),
    (re.compile(rf"/v2/{_NAME}/referrers/(?P<digest>[^/]+)"), {"GET": Endpoint.REFERRERS}),
]


def match(method: str, path: str, query: Mapping[str, str] | None = None) -> Route:
    """The route for a request, every component validated; raises the error to answer otherwise.

    ``query`` only picks between the POST variants (start, monolithic ``?digest=``, ``?mount=``).
    """
    if len(path) > PATH_MAX:
        raise NotFound("request path too long", code="NAME_UNKNOWN")
    for pattern, methods in _PATTERNS:
        m = pattern.fullmatch(path)
        if m is None:
            continue
        endpoint = methods.get(method)
        if endpoint is None:
            allow = tuple(methods)
            raise MethodNotAllowed(f"{method} is not supported on {path[:200]!r}; allowed: {', '.join(allow)}", allow)
        groups = m.groupdict()
        if "name" not in groups:
            return Route(endpoint)
        name = parse_name(groups["name"])
        if endpoint is Endpoint.UPLOAD_START and query:
            if "mount" in query and "from" in query:
                endpoint = Endpoint.BLOB_MOUNT
            elif "digest" in query:
                endpoint = Endpoint.UPLOAD_MONOLITHIC
        if "upload" in groups:
            return Route(endpoint, name, upload_id=parse_upload_id(groups["upload"]))
        if "digest" in groups:
            digest = Digest.parse(groups["digest"])
            return Route(endpoint, name, str(digest), digest)
        if "reference" in groups:
            text = groups["reference"]
            if endpoint is not Endpoint.MANIFEST_PUT and ":" not in text and not TAG_RE.fullmatch(text):
                # No manifest is named by something that is not a tag: "not found", as the spec's
                # conformance suite expects (a PUT to such a name is still TAG_INVALID).
                raise NotFound(f"manifest {name}:{text[:80]!r} is not known", code="MANIFEST_UNKNOWN")
            reference, by_digest = parse_reference(text)
            return Route(endpoint, name, reference, by_digest)
        return Route(endpoint, name)
    raise NotFound(f"no such endpoint: {path[:200]!r}", code="NAME_UNKNOWN")


def parse_content_range(text: str) -> tuple[int, int]:
    """A PATCH ``Content-Range`` (``<start>-<end>``, inclusive; a ``bytes`` prefix is tolerated).

    >>> parse_content_range("0-1023"), parse_content_range("bytes 10-19/*")
    ((0, 1023), (10, 19))
    >>> parse_content_range("5-2")
    Traceback (most recent call last):
    ...
    minidock_magic.registry.routes.RangeNotSatisfiable: invalid Content-Range '5-2': expected <start>-<end>
    """
    m = _CONTENT_RANGE.fullmatch(text.strip())
    if m is None or int(m[2]) < int(m[1]):
        raise RangeNotSatisfiable(f"invalid Content-Range {text[:80]!r}: expected <start>-<end>")
    return int(m[1]), int(m[2])


def valid_byte_ranges(header: str) -> bool:
    """Whether a ``Range`` header is a valid ``bytes`` ranges-specifier (RFC 9110 §14.1.1):
    ``first-last``, ``first-`` or ``-suffix``, comma-separated, no ``last`` before ``first``.

    >>> [valid_byte_ranges(h) for h in ("bytes=0-9", "bytes=5-", "bytes=-3, 4-4", "bytes=5-2",
    ...                                  "bytes=abc", "items=0-1", "bytes=")]
    [True, True, True, False, False, False, False]
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or not _BYTE_RANGES.fullmatch(spec):
        return False
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        if first and last and int(last) < int(first):
            return False
    return True


_BYTE_RANGE = r"[ \t]*(?:[0-9]{1,18}-[0-9]{0,18}|-[0-9]{1,18})[ \t]*"
_BYTE_RANGES = re.compile(rf"{_BYTE_RANGE}(?:,{_BYTE_RANGE})*")
_CONTENT_RANGE = re.compile(r"(?:bytes[ =])?([0-9]{1,18})-([0-9]{1,18})(?:/(?:[0-9]{1,18}|\*))?")


def paginate(items: list[str], n: str | None, last: str | None, limit: int = 10_000) -> tuple[list[str], bool]:
    """One page of a sorted listing (tags, catalog): up to ``n`` items after ``last``; and whether more remain.

    >>> paginate(["a", "b", "c", "d"], "2", "a")
    (['b', 'c'], True)
    >>> paginate(["a", "b"], None, None)
    (['a', 'b'], False)
    >>> paginate(["a"], "-1", None)
    Traceback (most recent call last):
    ...
    minidock_magic.errors.InvalidArgument: invalid page size '-1': expected an integer from 0 to 10000
    """
    # isascii: str.isdigit() is also true for '²', which int() refuses (that was a 500).
    if n is not None and (not (n.isascii() and n.isdigit()) or int(n) > limit):
        raise InvalidArgument(f"invalid page size {n[:20]!r}: expected an integer from 0 to {limit}",
                              code="PAGINATION_NUMBER_INVALID")
    rest = [item for item in items if last is None or item > last]
    size = limit if n is None else int(n)
    return rest[:size], 0 < size < len(rest)
