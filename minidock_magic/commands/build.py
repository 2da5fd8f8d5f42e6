"""``build``: docker's flags; in a notebook, ``%%dock build -t NAME [CONTEXT]`` takes the cell as
the Dockerfile."""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument
from . import Streams, Subcommands, UsageError

if TYPE_CHECKING:  # the build engine is imported by the commands that build (~30 ms otherwise)
    from ..build.cache import BuildCache
    from ..facade import Minidock


def register(sub: Subcommands) -> None:
    sub.add_parser("build", help="build an image from a Dockerfile (one layer per step, "
                   "with a build cache)", define=_build)
    sub.add_parser("builder", help="the build cache", define=_builder)


def _build(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-t", "--tag", action="append", default=[], dest="tags", metavar="NAME",
                        help="name the image (repeatable)")
    parser.add_argument("-f", "--file", help="the Dockerfile (default: CONTEXT/Dockerfile; - reads stdin)")
    parser.add_argument("--build-arg", action="append", default=[], dest="build_args",
                        metavar="KEY=VALUE", help="set an ARG (KEY alone takes it from the environment)")
    parser.add_argument("--no-cache", action="store_true", help="do not reuse cached steps")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the image ID")
    parser.add_argument("--target", metavar="STAGE", help="stop after this stage")
    parser.add_argument("context", nargs="?", metavar="CONTEXT",
                        help="directory COPY reads from (optional for a notebook cell's Dockerfile)")
    parser.set_defaults(handler=cmd_build)


def _builder(builder: argparse.ArgumentParser) -> None:
    builder_sub = builder.add_subparsers(dest="builder_command", metavar="COMMAND")
    builder_sub.add_parser("ls", help="list build cache entries (step -> intermediate image)",
                           define=lambda listing: listing.set_defaults(handler=cmd_builder_ls))
    builder_sub.add_parser("prune", help="forget every cached step", define=_builder_prune)


def _builder_prune(prune: argparse.ArgumentParser) -> None:
    prune.add_argument("-f", "--force", action="store_true", help="(accepted for docker compatibility)")
    prune.set_defaults(handler=cmd_builder_prune)


def build_args(values: list[str]) -> dict[str, str]:
    """``K=V``, or ``K`` alone for the caller's environment variable (dropped when unset).

    >>> build_args(["A=1", "B=x=y"])
    {'A': '1', 'B': 'x=y'}
    """
    found: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"invalid --build-arg {item!r}: use KEY=VALUE")
        if sep:
            found[key] = value
        elif key in os.environ:
            found[key] = os.environ[key]
    return found


def cmd_build(engine: Minidock, args: argparse.Namespace, io_: Streams) -> Any:
    cell = getattr(args, "cell", None)
    text, name = None, "Dockerfile"
    if cell is not None and cell.strip():
        if args.file:
            raise UsageError("give the Dockerfile either as the cell or with -f, not both")
        text = cell
    elif args.file == "-":
        if io_.stdin is None:
            raise UsageError("-f - reads the Dockerfile from stdin, but there is none")
        text = io_.stdin.read()
    elif args.file:
        path = Path(args.file)
        if not path.is_file():
            raise InvalidArgument(f"no such Dockerfile: {args.file}")
        text, name = path.read_text(), path.name
    if args.context is None and text is None:
        raise UsageError("build needs a CONTEXT directory (or, in a notebook, a Dockerfile as the cell)")
    out = io.StringIO() if args.quiet else io_.stdout
    from ..build.builder import build
    image = build(engine, args.context, text, tags=args.tags, build_args=build_args(args.build_args),
                  no_cache=args.no_cache, target=args.target, out=out, dockerfile_name=name)
    return str(image.id) if args.quiet else None


def _cache(engine: Minidock) -> BuildCache:
    from ..build.cache import BuildCache
    return BuildCache(engine.home / "build-cache")


def cmd_builder_ls(engine: Minidock, args: argparse.Namespace, io_: Streams) -> Any:
    """One line per cached step: its key, the image it gave, and the instruction."""
    return [f"{str(entry['key'])[:12]}  {str(entry.get('image', ''))[7:19]}  {entry.get('instruction', '')}"
            for entry in _cache(engine).entries()]


def cmd_builder_prune(engine: Minidock, args: argparse.Namespace, io_: Streams) -> Any:
    removed = _cache(engine).clear()
    return f"Deleted {removed} build cache entries (their unnamed images go at the next system prune)"
