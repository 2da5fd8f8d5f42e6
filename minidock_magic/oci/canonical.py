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


def loads_object(raw: bytes, what: str) -> dict[str, Any]:
    value = loads(raw, what)
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid {what}: expected a JSON object")
    return value
