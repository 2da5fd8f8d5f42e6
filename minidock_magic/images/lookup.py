"""Which image a user means: a name, name@digest, an ID or ID prefix, or a manifest digest."""

from __future__ import annotations

from collections.abc import Callable

from ..content.store import ContentStore
from ..errors import InvalidArgument, NotFound
from ..oci.descriptor import Descriptor
from ..oci.digest import Digest
from ..oci.manifest import parse_any
from ..oci.reference import Reference
from .store import NamedTarget


def try_reference(text: str) -> Reference | None:
    try:
        return Reference.parse(text)
    except InvalidArgument:
        return None


def try_digest(text: str) -> Digest | None:
    try:
        return Digest.parse(text)
    except InvalidArgument:
        return None


def id_matches(text: str, digest: Digest) -> bool:
    """docker accepts an ID with or without ``sha256:`` and any unique prefix of 4+ hex digits."""
    hexpart = text.removeprefix(f"{digest.algorithm}:")
    return len(hexpart) >= 4 and all(c in "0123456789abcdef" for c in hexpart) \
        and digest.encoded.startswith(hexpart)


def by_name(entries: list[NamedTarget], reference: Reference) -> Descriptor | None:
    for entry in entries:
        if entry.reference is not None and (
                (reference.digest is not None and entry.target.digest == reference.digest)
                or (reference.digest is None and entry.reference == reference)):
            return entry.target
    return None


def by_id(entries: list[NamedTarget], text: str,
          config_digest: Callable[[Descriptor], Digest]) -> Descriptor | None:
    """A manifest digest or an image ID (config digest) prefix; ambiguity is an error."""
    matches = {e.target.digest: e.target for e in entries
               if id_matches(text, e.target.digest) or id_matches(text, config_digest(e.target))}
    if len(matches) > 1:
        raise InvalidArgument(f"ambiguous image ID prefix {text!r}: {len(matches)} images match")
    return next(iter(matches.values()), None)


def unnamed_manifest(content: ContentStore, digest: Digest | None) -> Descriptor | None:
    """A manifest in the store that no name holds (a build step, an image pulled by digest)."""
    if digest is None or not content.exists(digest):
        return None
    try:
        document = parse_any(content.read_bytes(digest))
    except (InvalidArgument, NotFound):
        return None  # some other blob: a layer, a config
    return Descriptor(document.media_type, digest, content.size(digest))
