"""The one argument grammar, shared by the ``minidock`` CLI and the ``%dock`` magic.

Each module here adds its subcommands to the parser, each with a function that defines its
arguments, called only when the command is used; a handler takes ``(engine, args, io)`` and
returns a result object (printed as text by the CLI, displayed richly by the magic).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, NoReturn

from ..errors import InvalidArgument

if TYPE_CHECKING:
    from ..facade import Minidock


class UsageError(InvalidArgument):
    """Bad flags or arguments: docker answers these with exit status 125."""

    exit_code = 125


@dataclass
class Streams:
    """Where a command writes as it goes (progress, container output) and reads stdin from."""

    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)
    stdin: IO[str] | None = None


#: What a subcommand runs: the engine, its parsed arguments, where to write; returns a result.
Handler = Callable[["Minidock", argparse.Namespace, Streams], Any]


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so a notebook cell gets one line, not SystemExit;
    its subcommands are :class:`Subcommands`, whose parsers are made only when used."""

    def add_subparsers(self, **kwargs: Any) -> Subcommands:
        kwargs.setdefault("action", Subcommands)
        return super().add_subparsers(**kwargs)  # type: ignore[return-value]

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}. See '{self.prog} --help'.")


class Subcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose parsers are made when first looked up.

    ``add_parser(name, help=…, define=f)`` records the name and help at once (so ``--help`` and a
    mistyped command list them all) and makes the parser, then calls ``f(parser)`` to add its
    arguments, only when the command is chosen. ``minidock run`` then builds two parsers, not
    about eighty (argparse's are slow to make: ~17 ms for all of them, per CLI call and cell).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._name_parser_map = self.choices = _Parsers()  # type: ignore[assignment]

    def add_parser(self, name: str, *, define: Callable[[Parser], None] | None = None,
                   **kwargs: Any) -> Any:
        if define is None:
            return super().add_parser(name, **kwargs)
        make = self._parser_class
        # argparse's own add_parser does the rest (prog, help, aliases, conflicts); it only
        # makes the parser through this class, which here hands back a promise of one.
        self._parser_class = lambda **options: _Pending(make, options, define)  # type: ignore[assignment]
        try:
            super().add_parser(name, **kwargs)
        finally:
            self._parser_class = make
        return None


class _Pending:
    """A parser not made yet: made once, on first use, whichever name (or alias) asks."""

    def __init__(self, make: Callable[..., Parser], options: dict[str, Any],
                 define: Callable[[Parser], None]) -> None:
        self._make, self._options, self._define = make, options, define
        self._parser: Parser | None = None

    def parser(self) -> Parser:
        if self._parser is None:
            self._parser = self._make(**self._options)
            self._define(self._parser)
        return self._parser


class _Parsers(MutableMapping[str, Parser]):
    """Name → parser, as argparse keeps it for subcommands, making pending parsers on lookup."""

    def __init__(self) -> None:
        self._entries: dict[str, Parser | _Pending] = {}

    def __getitem__(self, name: str) -> Parser:
        entry = self._entries[name]
        if isinstance(entry, _Pending):
            entry = self._entries[name] = entry.parser()
        return entry

    def __setitem__(self, name: str, parser: Parser | _Pending) -> None:  # type: ignore[override]
        self._entries[name] = parser

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __contains__(self, name: object) -> bool:  # no parser is made to answer this
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def build_parser(prog: str = "minidock", *, notebook: bool = False) -> Parser:
    """The grammar; with ``notebook``, also the commands only a notebook can answer (``explore``)."""
    from . import build, classroom, containers, images, registry, remote, system

    parser = Parser(prog=prog, description="A daemon-less container engine for learning "
                    "images (镜像), containers (容器) and registries (仓库).")
    parser.add_argument("--home", help="store directory (default: $MINIDOCK_HOME or the user data dir)")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=Parser)
    for module in (containers, build, images, remote, registry, classroom, system):
        module.register(sub)
    if notebook:
        from . import notebook as notebook_only
        notebook_only.register(sub)
    return parser


def handler_of(args: argparse.Namespace) -> Handler:
    handler = getattr(args, "handler", None)
    if handler is None:
        raise UsageError("no command given. See 'minidock --help'.")
    return handler  # type: ignore[no-any-return]
