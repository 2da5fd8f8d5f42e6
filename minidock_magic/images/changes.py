"""``--change 'CMD ["sh"]'``: Dockerfile instructions applied to an image's run config (pure).

>>> apply_changes({}, ['CMD ["echo", "hi"]', "ENV A=1 B=2", "WORKDIR /app"])
{'Cmd': ['echo', 'hi'], 'Env': ['A=1', 'B=2'], 'WorkingDir': '/app'}
>>> apply_changes({"Env": ["A=0"]}, ["ENV A 5", "CMD echo $A"])
{'Env': ['A=5'], 'Cmd': ['/bin/sh', '-c', 'echo $A']}
"""

from __future__ import annotations

import copy
import json
import shlex
from typing import Any

from ..errors import InvalidArgument

SUPPORTED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR")


def command_form(text: str) -> list[str]:
    """Exec form (a JSON list) as is; shell form runs through ``/bin/sh -c`` like docker."""
    text = text.strip()
    if text.startswith("["):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return ["/bin/sh", "-c", text]


def key_values(text: str, instruction: str) -> list[tuple[str, str]]:
    """``K=V K2="v 2"`` or the legacy ``K V`` form."""
    words = shlex.split(text)
    if not words:
        raise InvalidArgument(f"{instruction} needs at least one argument")
    if "=" not in words[0]:
        key, _, value = text.strip().partition(" ")
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{instruction}: {word!r} is not KEY=VALUE")
        pairs.append((key, value))
    return pairs


def set_env(env: list[str], key: str, value: str) -> list[str]:
    return [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={value}"]


def apply_changes(run: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    run = copy.deepcopy(run)
    for change in changes:
        instruction, _, rest = change.strip().partition(" ")
        instruction = instruction.upper()
        rest = rest.strip()
        if instruction not in SUPPORTED:
            raise InvalidArgument(f"--change: {instruction or change!r} is not one of "
                                  f"{', '.join(SUPPORTED)}")
        if instruction == "CMD":
            run["Cmd"] = command_form(rest)
        elif instruction == "ENTRYPOINT":
            run["Entrypoint"] = command_form(rest)
        elif instruction == "ENV":
            for key, value in key_values(rest, "ENV"):
                run["Env"] = set_env(run.get("Env") or [], key, value)
        elif instruction == "LABEL":
            run["Labels"] = {**(run.get("Labels") or {}), **dict(key_values(rest, "LABEL"))}
        elif instruction == "EXPOSE":
            for port in rest.split():
                run.setdefault("ExposedPorts", {})[port if "/" in port else f"{port}/tcp"] = {}
        elif instruction == "VOLUME":
            for path in (json.loads(rest) if rest.startswith("[") else rest.split()):
                run.setdefault("Volumes", {})[path] = {}
        else:
            if not rest:
                raise InvalidArgument(f"{instruction} needs an argument")
            run[{"USER": "User", "WORKDIR": "WorkingDir", "STOPSIGNAL": "StopSignal"}[instruction]] = rest
    return run
