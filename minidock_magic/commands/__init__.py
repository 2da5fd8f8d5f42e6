"""The one argument grammar, shared by the ``minidock`` CLI and the ``%dock`` magic.

Each module here adds its subcommands to the parser; a handler takes ``(engine, args, io)`` and
returns a result object (printed as text by the CLI, displayed richly by the magic).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn

from ..errors import InvalidArgument


class UsageError(InvalidArgument):
    """Bad flags or arguments: docker answers these with exit status 125."""

    exit_code = 125


@dataclass
class Streams:
    """Where a command writes as it goes (progress, container output) and reads stdin from."""

    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] | None = None


Handler = Callable[[Any, argparse.Namespace, Streams], Any]


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so a notebook cell gets one line, not SystemExit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


def build_parser(prog: str = "minidock") -> Parser:
    from . import build, containers, images, registry, remote, system

    parser = Parser(prog=prog, description="A daemon-less container engine for learning "
                    "images (镜像), containers (容器) and registries (仓库).")
    parser.add_argument("--home", help="store directory (default: $MINIDOCK_HOME or the user data dir)")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=Parser)
    for module in (containers, build, images, remote, registry, system):
        module.register(sub)
    return parser


def handler_of(args: argparse.Namespace) -> Handler:
    handler = getattr(args, "handler", None)
    if handler is None:
        raise UsageError("no command given. See 'minidock --help'.")
    return handler  # type: ignore[no-any-return]
