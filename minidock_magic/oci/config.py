"""Image configuration (image-spec config.md): the run defaults, the layer diff_ids and history.

ChainIDs name the *stack* of layers up to a point, which is what lets two images share an unpacked
layer on disk only when everything beneath it is the same too:

>>> a, b = Digest.of(b"a"), Digest.of(b"b")
>>> chain_ids([a])[0] == a
True
>>> chain_ids([a, b])[1] == Digest.of(f"{a} {b}".encode())
True
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument
from .canonical import checked_fields, dumps, loads_object
from .descriptor import Platform
from .digest import Digest


def chain_ids(diff_ids: list[Digest] | tuple[Digest, ...]) -> list[Digest]:
    """ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))."""
    chain: list[Digest] = []
    for diff_id in diff_ids:
        chain.append(diff_id if not chain else Digest.of(f"{chain[-1]} {diff_id}".encode()))
    return chain


def rfc3339(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))  # not datetime: ~1 ms to import


@dataclass(frozen=True, slots=True)
class History:
    """One step of an image's history, as ``docker history`` lists it."""

    created: str | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    empty_layer: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> History:
        return cls(data.get("created"), data.get("created_by"), data.get("author"),
                   data.get("comment"), bool(data.get("empty_layer", False)))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key in ("created", "created_by", "author", "comment"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.empty_layer:
            data["empty_layer"] = True
        return data


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """Parsed view over the config blob; ``raw`` is the blob, ``data`` its JSON (do not mutate)."""

    raw: bytes = field(repr=False)
    data: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def parse(cls, raw: bytes) -> ImageConfig:
        data = loads_object(raw, "image config")
        checked_fields(data, "image config", history=list, config=dict, os=str, architecture=str,
                       created=str, author=str)
        rootfs = data.get("rootfs")
        if not isinstance(rootfs, dict) or rootfs.get("type") != "layers" \
                or not isinstance(rootfs.get("diff_ids"), list):
            raise InvalidArgument("invalid image config: rootfs must be {type: layers, diff_ids: [...]}")
        for diff_id in rootfs["diff_ids"]:
            Digest.parse(diff_id)
        config = cls(raw, data)
        non_empty = sum(1 for h in config.history if not h.empty_layer)
        if config.history and non_empty != len(rootfs["diff_ids"]):
            raise InvalidArgument(f"invalid image config: history has {non_empty} layers but rootfs "
                                  f"has {len(rootfs['diff_ids'])} diff_ids")
        return config

    @classmethod
    def create(cls, *, diff_ids: list[Digest], history: list[History], run: dict[str, Any],
               created: str, platform: Platform | None = None, author: str | None = None) -> ImageConfig:
        platform = platform or Platform.host()
        data: dict[str, Any] = {"created": created}
        if author:
            data["author"] = author
        data.update({"architecture": platform.architecture, "os": platform.os})
        if platform.variant:
            data["variant"] = platform.variant
        data["config"] = run
        data["rootfs"] = {"type": "layers", "diff_ids": [str(d) for d in diff_ids]}
        data["history"] = [h.to_json() for h in history]
        return cls.parse(dumps(data))

    def derive(self, *, diff_id: Digest | None, history: History, run: dict[str, Any] | None = None,
               created: str, author: str | None = None) -> ImageConfig:
        """A child image: one more layer (or an empty-layer history entry) on top of this one."""
        data = copy.deepcopy(self.data)
        data["created"] = created
        if author:
            data["author"] = author
        else:
            data.pop("author", None)
        if run is not None:
            data["config"] = run
        if diff_id is not None:
            data["rootfs"]["diff_ids"].append(str(diff_id))
        # History is optional in the spec; a base without it gets one plain entry per layer, so
        # the child's history still lines up with its diff_ids.
        earlier = data.get("history") or [{} for _ in self.diff_ids]
        data["history"] = [*earlier, history.to_json()]
        return ImageConfig.parse(dumps(data))

    @property
    def digest(self) -> Digest:
        return Digest.of(self.raw)

    @property
    def diff_ids(self) -> list[Digest]:
        return [Digest.parse(d) for d in self.data["rootfs"]["diff_ids"]]

    @property
    def chain_ids(self) -> list[Digest]:
        return chain_ids(self.diff_ids)

    @property
    def history(self) -> list[History]:
        return [History.from_json(h) for h in self.data.get("history") or [] if isinstance(h, dict)]

    @property
    def run(self) -> dict[str, Any]:
        """The container defaults (``config`` in the JSON: Env, Cmd, Entrypoint, WorkingDir, …)."""
        return copy.deepcopy(self.data.get("config") or {})

    @property
    def platform(self) -> Platform:
        return Platform(self.data.get("os", ""), self.data.get("architecture", ""),
                        self.data.get("variant"))

    @property
    def created(self) -> str | None:
        return self.data.get("created")

    def layer_history(self) -> list[tuple[History, Digest | None]]:
        """Pair each history entry with the diff_id it produced (None for empty layers)."""
        diff_ids = iter(self.diff_ids)
        history = self.history or [History() for _ in self.diff_ids]
        return [(h, None if h.empty_layer else next(diff_ids, None)) for h in history]
