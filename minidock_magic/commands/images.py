"""Image subcommands: images, tag, rmi, image inspect, history, save, load, import, bootstrap."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument
from . import Parser, Streams, Subcommands

if TYPE_CHECKING:
    from ..facade import Minidock

RM_HELP = "remove images (untag; delete when no name is left)"


def register(sub: Subcommands) -> None:
    sub.add_parser("images", help="list images, with shared and unique layer bytes", define=_images)
    sub.add_parser("image", help="manage images", define=_image)
    sub.add_parser("rmi", help=RM_HELP, define=_rm)
    _add_common(sub)


def _images(images: argparse.ArgumentParser) -> None:
    images.add_argument("-q", "--quiet", action="store_true", help="only image IDs")
    images.set_defaults(handler=cmd_images)


def _image(image: Parser) -> None:
    image_sub = image.add_subparsers(dest="image_command", metavar="COMMAND")
    image_sub.add_parser("ls", help="list images", define=_ls)
    image_sub.add_parser("inspect", help="low-level JSON about images", define=_inspect)
    image_sub.add_parser("rm", help=RM_HELP, define=_rm)
    _add_common(image_sub)


def _ls(ls: argparse.ArgumentParser) -> None:
    ls.add_argument("-q", "--quiet", action="store_true")
    ls.set_defaults(handler=cmd_images)


def _inspect(inspect: argparse.ArgumentParser) -> None:
    inspect.add_argument("images", nargs="+", metavar="IMAGE")
    inspect.set_defaults(handler=cmd_image_inspect)


def _rm(rmi: argparse.ArgumentParser) -> None:
    rmi.add_argument("-f", "--force", action="store_true")
    rmi.add_argument("images", nargs="+", metavar="IMAGE")
    rmi.set_defaults(handler=cmd_rmi)


def _add_common(sub: Subcommands) -> None:
    sub.add_parser("tag", help="give an image another name: SOURCE TARGET", define=_tag)
    sub.add_parser("history", help="the steps (layers) that made an image", define=_history)
    sub.add_parser("save", help="write images to a tar archive (docker/OCI format)", define=_save)
    sub.add_parser("load", help="read images from a tar archive", define=_load)
    sub.add_parser("import", help="make a one-layer image from a rootfs tarball or directory",
                   define=_import)
    sub.add_parser("bootstrap", help="(re)make the built-in busybox image from the host",
                   define=lambda boot: boot.set_defaults(handler=cmd_bootstrap))
    sub.add_parser("graph", help="diagram of images, their layers and what they share "
                   "(DOT text; a picture in notebooks)", define=_graph)
    sub.add_parser("unpack", help="apply an image's layers into a directory", define=_unpack)


def _tag(tag: argparse.ArgumentParser) -> None:
    tag.add_argument("source", metavar="SOURCE_IMAGE")
    tag.add_argument("target", metavar="TARGET_IMAGE")
    tag.set_defaults(handler=cmd_tag)


def _history(history: argparse.ArgumentParser) -> None:
    history.add_argument("image", metavar="IMAGE")
    history.add_argument("-q", "--quiet", action="store_true")
    history.set_defaults(handler=cmd_history)


def _save(save: argparse.ArgumentParser) -> None:
    save.add_argument("-o", "--output", help="file to write (default: stdout)")
    save.add_argument("images", nargs="+", metavar="IMAGE")
    save.set_defaults(handler=cmd_save)


def _load(load: argparse.ArgumentParser) -> None:
    load.add_argument("-i", "--input", help="file to read (default: stdin)")
    load.add_argument("-q", "--quiet", action="store_true")
    load.set_defaults(handler=cmd_load)


def _import(imp: argparse.ArgumentParser) -> None:
    imp.add_argument("source", metavar="file|dir")
    imp.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    imp.add_argument("-m", "--message", help="commit message for the history")
    imp.add_argument("-c", "--change", action="append", default=[],
                     help="apply a Dockerfile instruction (CMD, ENV, WORKDIR, …) to the config")
    imp.set_defaults(handler=cmd_import)


def _graph(graph: argparse.ArgumentParser) -> None:
    graph.add_argument("images", nargs="*", metavar="IMAGE")
    graph.set_defaults(handler=lambda engine, args, io: engine.graph(args.images or None))


def _unpack(unpack: argparse.ArgumentParser) -> None:
    unpack.add_argument("image", metavar="IMAGE")
    unpack.add_argument("dest", metavar="DIR")
    unpack.add_argument("--keep-privileges", action="store_true",
                        help="keep setuid/setgid bits, file capabilities and device nodes")
    unpack.set_defaults(handler=cmd_unpack)


def cmd_images(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    listing = engine.images()
    if args.quiet:
        return list(dict.fromkeys(row.id.short for row in listing))
    return listing


def cmd_image_inspect(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    return [engine.image_inspect(text) for text in args.images]


def cmd_rmi(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    return [line for text in args.images for line in engine.rmi(text, force=args.force)]


def cmd_tag(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    engine.tag(args.source, args.target)
    return None


def cmd_history(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    history = engine.history(args.image)
    return [row.image for row in history.rows] if args.quiet else history


def cmd_save(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    if args.output:
        target = Path(args.output)
        partial = target.with_name(f".{target.name}.partial")
        with open(partial, "wb") as out:  # never leave a half-written archive under its name
            engine.save(args.images, out)
        partial.replace(target)
        return None
    if sys.stdout.isatty():
        raise InvalidArgument("cowardly refusing to write an archive to a terminal: use -o FILE")
    engine.save(args.images, sys.stdout.buffer)
    sys.stdout.flush()
    return None


def cmd_load(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    if args.input:
        if not Path(args.input).is_file():
            raise InvalidArgument(f"load: no such file {args.input}")
        with open(args.input, "rb") as source:
            report = engine.load(source)
    else:
        report = engine.load(sys.stdin.buffer)
    return None if args.quiet else report


def cmd_import(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    image = engine.import_image(args.source, args.reference, message=args.message,
                                changes=args.change)
    return str(image.id)


def cmd_bootstrap(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    image = engine.bootstrap()
    return f"{image.display_name} {image.digest}"


def cmd_unpack(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    return str(engine.unpack(args.image, args.dest, keep_privileges=args.keep_privileges))
