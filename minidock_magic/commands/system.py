"""``system df|check|prune`` and ``info``: the store as a whole, and what this host allows."""

from __future__ import annotations

import argparse
from typing import Any

from . import Streams


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    system = sub.add_parser("system", help="manage the store as a whole")
    system_sub = system.add_subparsers(dest="system_command", metavar="COMMAND")
    df = system_sub.add_parser("df", help="disk usage: shared vs unique layer bytes")
    df.set_defaults(handler=lambda engine, args, io: engine.system_df())
    check = system_sub.add_parser("check", help="re-hash every blob; report corrupt, missing, dangling")
    check.set_defaults(handler=lambda engine, args, io: engine.system_check())
    prune = system_sub.add_parser("prune", help="remove untagged images and unreferenced blobs")
    prune.add_argument("-a", "--all", action="store_true", help="also remove unused tagged images")
    prune.add_argument("-f", "--force", action="store_true", help="do not ask (accepted for docker)")
    prune.set_defaults(handler=lambda engine, args, io: engine.system_prune(all_images=args.all))
    info = system_sub.add_parser("info", help="store, settings and the isolation this host allows")
    info.set_defaults(handler=cmd_info)
    top_info = sub.add_parser("info", help="store, settings and the isolation this host allows")
    top_info.set_defaults(handler=cmd_info)


def cmd_info(engine: Any, args: argparse.Namespace, io: Streams) -> Any:
    info = engine.info()
    lines = [f"Home: {info['home']}", f"Image store (OCI layout): {info['store']}",
             f"Layer compression: {info['compression']}", f"Images: {info['images']}",
             f"Blobs: {info['blobs']}", f"Isolation: {info['isolation']}", "Host:"]
    lines += [f"  {line}" for line in info["host"]]
    return "\n".join(lines)
