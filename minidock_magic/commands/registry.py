"""``registry serve|adduser|garbage-collect``: run a registry (仓库服务器) of your own."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import InvalidArgument
from . import Streams, Subcommands

if TYPE_CHECKING:
    from ..facade import Minidock


def register(sub: Subcommands) -> None:
    sub.add_parser("registry", help="run an OCI registry (a 仓库服务器 for your class)",
                   define=_registry)


def _registry(registry: argparse.ArgumentParser) -> None:
    registry_sub = registry.add_subparsers(dest="registry_command", metavar="COMMAND")
    registry_sub.add_parser("serve", help="serve in the foreground until Ctrl+C", define=_serve)
    registry_sub.add_parser("adduser", help="add or change a user in an htpasswd file",
                            define=_adduser)
    registry_sub.add_parser("garbage-collect", help="delete blobs no manifest references",
                            define=_gc)


def _serve(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--addr", help="HOST:PORT (default 127.0.0.1:5000; as a hub service, the "
                                      "address in $JUPYTERHUB_SERVICE_URL)")
    serve.add_argument("--data", required=True, help="directory that holds the registry's blobs")
    serve.add_argument("--auth", choices=["open", "public", "private", "jupyterhub"], default="open",
                       help="open: no login; public: anyone pulls, push needs a login into your "
                            "own namespace (like Docker Hub); private: everything needs a login; "
                            "jupyterhub: public, as a hub service, where the login is the hub token "
                            "and hub admins may delete")
    serve.add_argument("--htpasswd", help="htpasswd file with bcrypt entries (minidock registry adduser)")
    serve.set_defaults(handler=cmd_serve, needs_engine=False)


def _adduser(adduser: argparse.ArgumentParser) -> None:
    adduser.add_argument("--htpasswd", required=True)
    adduser.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    adduser.add_argument("user")
    adduser.set_defaults(handler=cmd_adduser, needs_engine=False)


def _gc(gc: argparse.ArgumentParser) -> None:
    gc.add_argument("--data", required=True)
    gc.set_defaults(handler=cmd_gc, needs_engine=False)


def cmd_serve(engine: Minidock | None, args: argparse.Namespace, io: Streams) -> Any:
    from ..registry import exposure_warning, serve
    args.addr = args.addr or _service_addr(args.auth)
    if warning := exposure_warning(args.addr, args.auth):
        print(warning, file=io.stderr, flush=True)
    print(f"registry listening on http://{args.addr} (auth: {args.auth}); Ctrl+C stops it",
          file=io.stderr, flush=True)
    serve(args.addr, Path(args.data), args.auth, args.htpasswd)
    return None


def _service_addr(auth: str) -> str:
    """Where the hub expects its service (``url`` in ``c.JupyterHub.services``), else the default."""
    url = os.environ.get("JUPYTERHUB_SERVICE_URL", "") if auth == "jupyterhub" else ""
    if url:
        parsed = urlsplit(url)
        if parsed.hostname and parsed.port:
            return f"{parsed.hostname}:{parsed.port}"
    return "127.0.0.1:5000"


def cmd_adduser(engine: Minidock | None, args: argparse.Namespace, io: Streams) -> Any:
    from ..registry import add_user
    if args.password_stdin:
        password = (io.stdin or sys.stdin).readline().rstrip("\n")
    elif sys.stdin.isatty():
        import getpass  # termios and friends: only `adduser` without --password asks
        password = getpass.getpass(f"password for {args.user}: ")
    else:
        raise InvalidArgument("no terminal to ask for a password: use --password-stdin")
    if not password:
        raise InvalidArgument("the password may not be empty")
    add_user(Path(args.htpasswd), args.user, password)
    return f"user {args.user} saved in {args.htpasswd}"


def cmd_gc(engine: Minidock | None, args: argparse.Namespace, io: Streams) -> Any:
    from ..registry import garbage_collect
    from ..results import human_size
    removed, freed = garbage_collect(Path(args.data))
    return f"deleted {removed} blobs, freed {human_size(freed)}"
