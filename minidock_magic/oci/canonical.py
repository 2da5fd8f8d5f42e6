"""The one JSON encoding we write, so the same value always gives the same bytes (and digest)."""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidArgument


def dumps(value: Any) -> bytes:
    """Compact, key order as built (Go's struct order), UTF-8: what docker and containerd write."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def loads(raw: bytes, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"invalid {what}: not JSON ({exc})") from None
    except RecursionError:  # '[[[[…' thousands deep: json gives up with this
        raise InvalidArgument(f"invalid {what}: JSON nested too deeply") from None


def loads_object(raw: bytes, what: str) -> dict[str, Any]:
    value = loads(raw, what)
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid {what}: expected a JSON object")
    return value


def checked_fields(data: dict[str, Any], what: str, **types: type | tuple[type, ...]) -> None:
    """Hostile documents put lists where strings belong: refuse them here, in one line, before
    any code hashes or iterates a value of the wrong type."""
    for key, expected in types.items():
        if data.get(key) is not None and not isinstance(data[key], expected):
            raise InvalidArgument(f"invalid {what}: {key} has the wrong type")
