"""Image references, parsed by distribution's grammar and normalised the way docker does.

>>> str(Reference.parse("busybox"))
'docker.io/library/busybox:latest'
>>> Reference.parse("busybox").familiar
'busybox:latest'
>>> str(Reference.parse("localhost:5000/a/b:t"))
'localhost:5000/a/b:t'
>>> Reference.parse("me/app:1").repository
'docker.io/me/app'
>>> Reference.parse("BusyBox")
Traceback (most recent call last):
...
minidock_magic.errors.InvalidArgument: invalid reference format: repository name 'BusyBox' must be lowercase
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..errors import InvalidArgument
from .digest import Digest

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
DEFAULT_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

# The grammar of distribution/reference (regexp.go), piece by piece.
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"  # Go's \w is ASCII; Python's is not
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

REFERENCE_GRAMMAR = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?\Z")
PATH_GRAMMAR = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*\Z")
TAG_GRAMMAR = re.compile(rf"^{_TAG}\Z")
DOMAIN_GRAMMAR = re.compile(rf"^{_DOMAIN}\Z")


@dataclass(frozen=True, slots=True)
class Reference:
    """``domain/path[:tag][@digest]``, always normalised (``docker.io/library/…``)."""

    domain: str
    path: str
    tag: str | None = None
    digest: Digest | None = None

    @classmethod
    def parse(cls, text: str, *, default_tag: bool = True) -> Reference:
        """Parse and normalise; a reference with neither tag nor digest gets ``latest``."""
        if not text or not isinstance(text, str):
            raise InvalidArgument("invalid reference format: empty name")
        match = REFERENCE_GRAMMAR.fullmatch(text)
        if match is None:
            lowered = text.lower()
            if lowered != text and REFERENCE_GRAMMAR.fullmatch(lowered):
                raise InvalidArgument(
                    f"invalid reference format: repository name {text!r} must be lowercase")
            raise InvalidArgument(f"invalid reference format: {text!r}")
        name, tag, digest_text = match.groups()
        if len(name) > NAME_TOTAL_LENGTH_MAX:
            raise InvalidArgument(f"invalid reference format: repository name longer than "
                                  f"{NAME_TOTAL_LENGTH_MAX} characters")
        domain, path = split_domain(name)
        digest = Digest.parse(digest_text) if digest_text else None
        if tag is None and digest is None and default_tag:
            tag = DEFAULT_TAG
        return cls(domain, path, tag, digest)

    @property
    def repository(self) -> str:
        """``docker.io/library/busybox`` — the name without tag or digest."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar(self) -> str:
        """The short form docker prints: ``busybox:latest``, ``me/app:1``, ``localhost:5000/a:t``."""
        return self._render(familiar_name(self.domain, self.path))

    @property
    def familiar_repository(self) -> str:
        return familiar_name(self.domain, self.path)

    @property
    def api_host(self) -> str:
        """The host that serves the registry API (Docker Hub's API lives on its own host)."""
        return "registry-1.docker.io" if self.domain == DEFAULT_DOMAIN else self.domain

    def with_tag(self, tag: str) -> Reference:
        if not TAG_GRAMMAR.fullmatch(tag):
            raise InvalidArgument(f"invalid tag {tag!r}")
        return replace(self, tag=tag, digest=None)

    def with_digest(self, digest: Digest) -> Reference:
        return replace(self, tag=None, digest=digest)

    def _render(self, name: str) -> str:
        text = name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    def __str__(self) -> str:
        return self._render(self.repository)


def is_registry_host(component: str) -> bool:
    """docker's rule for the first component of a name with a ``/``: a registry host if it has a
    ``.`` or a ``:``, is ``localhost``, or has capitals (a repository path never does).

    >>> [is_registry_host(c) for c in ("localhost:5000", "ghcr.io", "localhost", "Me", "library")]
    [True, True, True, True, False]
    """
    return "." in component or ":" in component or component == "localhost" \
        or component.lower() != component


def split_domain(name: str) -> tuple[str, str]:
    """docker's rule: the first component is a registry host only if it looks like one."""
    first, sep, rest = name.partition("/")
    if not sep or not is_registry_host(first):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = DEFAULT_REPO_PREFIX + path
    if not PATH_GRAMMAR.fullmatch(path):
        raise InvalidArgument(f"invalid reference format: repository name {path!r} must be lowercase")
    return domain, path


def familiar_name(domain: str, path: str) -> str:
    if domain != DEFAULT_DOMAIN:
        return f"{domain}/{path}"
    return path.removeprefix(DEFAULT_REPO_PREFIX) if path.count("/") == 1 else path
