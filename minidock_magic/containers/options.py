"""What ``create``/``run`` accept, and how an image's config turns into a process (pure)."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgument


@dataclass(frozen=True)
class RunOptions:
    """What ``docker run``/``create`` flags ask of a new container."""

    command: list[str] = field(default_factory=list)
    name: str | None = None
    env: list[str] = field(default_factory=list)      # "K=V", or "K" to take the host's value
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    network: str = "none"          # none | host | container:NAME
    entrypoint: str | None = None
    auto_remove: bool = False
    interactive: bool = False
    memory: int | None = None
    cpus: float | None = None
    pids_limit: int | None = None
    isolation: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    security_opt: list[str] = field(default_factory=list)  # docker's --security-opt
    publish: list[str] = field(default_factory=list)  # -p [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp]
    publish_all: bool = False                           # -P: every EXPOSEd port, on a free port


def process_argv(image_run: dict[str, Any], options: RunOptions) -> list[str]:
    """docker's rule: ``--entrypoint`` replaces the image's and drops its Cmd; given arguments
    replace the Cmd; the process is Entrypoint + Cmd.

    >>> process_argv({"Cmd": ["sh"]}, RunOptions(command=["echo", "hi"]))
    ['echo', 'hi']
    >>> process_argv({"Entrypoint": ["/bin/echo"], "Cmd": ["x"]}, RunOptions())
    ['/bin/echo', 'x']
    >>> process_argv({"Entrypoint": ["/bin/echo"], "Cmd": ["x"]}, RunOptions(entrypoint="ls"))
    ['ls']
    """
    if options.entrypoint is not None:
        entrypoint = [options.entrypoint] if options.entrypoint else []
        cmd = list(options.command)
    else:
        entrypoint = list(image_run.get("Entrypoint") or [])
        cmd = list(options.command) or list(image_run.get("Cmd") or [])
    argv = entrypoint + cmd
    if not argv:
        raise InvalidArgument("no command specified: the image has no Cmd or Entrypoint; "
                              "give one after the image name")
    return argv


def process_env(image_run: dict[str, Any], extra: list[str]) -> list[str]:
    """Image Env, then ``-e`` values; ``-e K`` copies the host's K (and is dropped if unset)."""
    env: dict[str, str] = {}
    for item in list(image_run.get("Env") or []) + extra:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable {item!r}")
        if not sep:
            if key not in os.environ:
                continue
            value = os.environ[key]
        env[key] = value
    return [f"{k}={v}" for k, v in env.items()]


def seccomp_setting(security_opt: list[str]) -> Any:
    """The seccomp setting ``--security-opt`` asks for: ``builtin`` unless ``seccomp=unconfined``
    or ``seccomp=PROFILE.json`` (read now, as docker does, so the container keeps the profile it
    was created with). ``no-new-privileges`` is accepted: every container has it.

    >>> seccomp_setting([]), seccomp_setting(["seccomp=unconfined", "no-new-privileges"])
    ('builtin', 'unconfined')
    """
    from ..runtime.seccomp import BUILTIN, setting_from_option

    setting: Any = BUILTIN
    for option in security_opt:
        key, sep, value = option.partition("=")
        if not sep:
            key, sep, value = option.partition(":")  # docker's older spelling
        if key == "seccomp" and value:
            setting = setting_from_option(value)
        elif key == "no-new-privileges" and value in ("", "true"):
            continue
        else:
            raise InvalidArgument(f"invalid --security-opt: {option!r} (supported: "
                                  "seccomp=unconfined|PROFILE.json, no-new-privileges)")
    return setting


def parse_memory(text: str) -> int:
    """``512m``, ``1g``, ``1048576`` -> bytes.

    >>> parse_memory("512m"), parse_memory("1g"), parse_memory("8388608")
    (536870912, 1073741824, 8388608)
    """
    units = {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower()
    multiplier = units.get(text[-1:], None)
    number = text[:-1] if multiplier else text
    try:
        value = int(float(number) * (multiplier or 1))
    except ValueError:
        raise InvalidArgument(f"invalid memory size {text!r} (use e.g. 64m or 1g)") from None
    if value < 6 << 20:  # docker's floor: below it the kernel kills the process at once
        raise InvalidArgument("minimum memory limit allowed is 6MB")
    return value


def parse_signal(text: str) -> int:
    """``KILL``, ``SIGTERM``, ``9`` -> a signal number."""
    text = str(text).upper()
    if text.isdigit():
        return int(text)
    try:
        return int(signal.Signals[text if text.startswith("SIG") else f"SIG{text}"])
    except KeyError:
        raise InvalidArgument(f"invalid signal {text!r}") from None
