"""``system df|check|prune`` and ``info``: the store as a whole, and what this host allows."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from . import Streams, Subcommands

if TYPE_CHECKING:
    from ..facade import Minidock

INFO_HELP = "store, settings and the isolation this host allows"


def register(sub: Subcommands) -> None:
    sub.add_parser("system", help="manage the store as a whole", define=_system)
    sub.add_parser("info", help=INFO_HELP, define=_info)


def _system(system: argparse.ArgumentParser) -> None:
    system_sub = system.add_subparsers(dest="system_command", metavar="COMMAND")
    system_sub.add_parser("df", help="disk usage: shared vs unique layer bytes", define=_df)
    system_sub.add_parser("check", help="re-hash every blob; report corrupt, missing, dangling",
                          define=_check)
    system_sub.add_parser("prune", help="remove untagged images and unreferenced blobs",
                          define=_prune)
    system_sub.add_parser("info", help=INFO_HELP, define=_info)


def _df(df: argparse.ArgumentParser) -> None:
    df.set_defaults(handler=lambda engine, args, io: engine.system_df())


def _check(check: argparse.ArgumentParser) -> None:
    check.set_defaults(handler=lambda engine, args, io: engine.system_check())


def _prune(prune: argparse.ArgumentParser) -> None:
    prune.add_argument("-a", "--all", action="store_true", help="also remove unused tagged images")
    prune.add_argument("-f", "--force", action="store_true", help="do not ask (accepted for docker)")
    prune.set_defaults(handler=lambda engine, args, io: engine.system_prune(all_images=args.all))


def _info(info: argparse.ArgumentParser) -> None:
    info.set_defaults(handler=cmd_info)


def cmd_info(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    info = engine.info()
    lines = [f"Home: {info['home']}", f"Image store (OCI layout): {info['store']}",
             f"Layer compression: {info['compression']}", f"Images: {info['images']}",
             f"Blobs: {info['blobs']}", f"Isolation: {info['isolation']}",
             "Security Options:", *(f"  {line}" for line in info["security"]), "Host:"]
    lines += [f"  {line}" for line in info["host"]]
    return "\n".join(lines)
