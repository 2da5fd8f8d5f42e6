"""``class REGISTRY``: what each student pushed to the class registry (a teacher's view)."""

from __future__ import annotations

import argparse
from typing import Any

from . import Streams, Subcommands


def register(sub: Subcommands) -> None:
    sub.add_parser("class", help="what each student pushed to a class registry (table and graph)",
                   define=_class)


def _class(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base", default="busybox", metavar="IMAGE",
                   help="the lesson's base image in your store, whose layers students share "
                        "(default: busybox)")
    p.add_argument("--dot", action="store_true",
                   help="print the graph of shared blobs as Graphviz DOT instead of the table")
    p.add_argument("--trace", action="store_true", help="show every HTTP request and response")
    p.add_argument("registry", metavar="REGISTRY", help="HOST:PORT of the class registry")
    p.set_defaults(handler=cmd_class)


def cmd_class(engine: Any, args: argparse.Namespace, io: Streams) -> Any:
    from ..remotes.classroom import survey
    base = engine.image(args.base)
    report = survey(engine, args.registry, base.manifest, base.display_name,
                    trace=io.stdout if args.trace else None)
    return report.graph() if args.dot else report
