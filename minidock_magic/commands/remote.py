"""Registry subcommands: pull, push, login, logout, search, manifest inspect.

Pull and push write docker's status lines to ``io.stdout`` as they happen (and ``--trace`` lines,
interleaved, so a student sees which request produced which line); progress bars go to
``io.stderr`` and only where someone watches (a terminal or a notebook).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from ..oci.reference import Reference
from . import Streams, Subcommands, UsageError

if TYPE_CHECKING:
    from ..facade import Minidock


def register(sub: Subcommands) -> None:
    sub.add_parser("pull", help="download an image from a registry", define=_pull)
    sub.add_parser("push", help="upload an image to a registry", define=_push)
    sub.add_parser("login", help="log in to a registry (stored in <home>/config.json)", define=_login)
    sub.add_parser("logout", help="forget the login for a registry", define=_logout)
    sub.add_parser("search", help="find repositories on a registry", define=_search)
    sub.add_parser("manifest", help="look at manifests in a registry", define=_manifest)


def _pull(p: argparse.ArgumentParser) -> None:
    p.add_argument("--platform", help="os/arch[/variant] to pick from a multi-platform image")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image name")
    p.add_argument("--trace", action="store_true", help="show every HTTP request and response")
    p.add_argument("name", metavar="NAME[:TAG|@DIGEST]")
    p.set_defaults(handler=cmd_pull)


def _push(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="print only the pushed digest")
    p.add_argument("--trace", action="store_true", help="show every HTTP request and response")
    p.add_argument("name", metavar="NAME[:TAG]")
    p.set_defaults(handler=cmd_push)


def _login(p: argparse.ArgumentParser) -> None:
    p.add_argument("-u", "--username", help="inside a JupyterHub, for the class registry "
                   "($MINIDOCK_CLASS_REGISTRY): default $JUPYTERHUB_USER, with the hub token as password")
    secret = p.add_mutually_exclusive_group()
    secret.add_argument("-p", "--password")
    secret.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--trace", action="store_true", help="show every HTTP request and response")
    p.add_argument("server", nargs="?", metavar="SERVER", help="default: docker.io")
    p.set_defaults(handler=cmd_login)


def _logout(p: argparse.ArgumentParser) -> None:
    p.add_argument("server", nargs="?", metavar="SERVER", help="default: docker.io")
    p.set_defaults(handler=cmd_logout)


def _search(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", metavar="HOST", help="search this registry's catalog (default: Docker Hub)")
    p.add_argument("--limit", type=int, default=25)
    p.add_argument("--trace", action="store_true", help="show every HTTP request and response")
    p.add_argument("term", metavar="TERM")
    p.set_defaults(handler=cmd_search)


def _manifest(manifest: argparse.ArgumentParser) -> None:
    manifest_sub = manifest.add_subparsers(dest="manifest_command", metavar="COMMAND")
    manifest_sub.add_parser("inspect", help="the manifest or index a registry serves for a name",
                            define=_manifest_inspect)


def _manifest_inspect(p: argparse.ArgumentParser) -> None:
    p.add_argument("--trace", action="store_true", help="show every HTTP request and response")
    p.add_argument("name", metavar="NAME[:TAG|@DIGEST]")
    p.set_defaults(handler=cmd_manifest_inspect)


def _trace(args: argparse.Namespace, io: Streams) -> Any:
    return io.stdout if getattr(args, "trace", False) else None


def cmd_pull(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    engine.pull(args.name, platform=args.platform, trace=_trace(args, io), quiet=args.quiet,
                out=None if args.quiet else io.stdout)
    return str(Reference.parse(args.name)) if args.quiet else None


def cmd_push(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    digest = engine.push(args.name, trace=_trace(args, io), quiet=args.quiet,
                         out=None if args.quiet else io.stdout)
    return str(digest) if args.quiet else None


def cmd_login(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    stdin = io.stdin if io.stdin is not None else sys.stdin
    username, password = args.username, args.password
    interactive = bool(getattr(stdin, "isatty", lambda: False)())
    hub_token = class_registry_token(args.server)
    if password is not None:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", file=io.stderr)
    elif hub_token and not args.password_stdin and username in (None, os.environ.get("JUPYTERHUB_USER")):
        username, password = os.environ.get("JUPYTERHUB_USER"), hub_token
    elif args.password_stdin:
        if not username:
            raise UsageError("login: --password-stdin needs --username (-u)")
        password = stdin.read().rstrip("\r\n")
    elif interactive:
        if not username:
            io.stderr.write("Username: ")
            io.stderr.flush()
            username = stdin.readline().strip()
        import getpass  # termios and friends: only a login that asks needs it
        password = getpass.getpass("Password: ", stream=io.stderr)  # type: ignore[arg-type]
    else:
        raise UsageError("login: no password given and stdin is not a terminal: "
                         "use -p PASSWORD or --password-stdin")
    if not username:
        raise UsageError("login: a user name is needed: -u USER")
    from ..remotes import account  # httpx costs ~100 ms: only the commands that talk load it
    return account.login(engine, args.server, username, password, trace=_trace(args, io))


def class_registry_token(server: str | None) -> str | None:
    """Inside a JupyterHub, the hub's own token is the login to the class registry (``registry
    serve --auth jupyterhub``) — and to no other: it is offered only to the host the hub names in
    ``$MINIDOCK_CLASS_REGISTRY``, never to whatever registry a student types (a token sent to
    ``docker.io`` or a stranger's server would be theirs to use)."""
    from ..remotes.credentials import server_host
    token, named = os.environ.get("JUPYTERHUB_API_TOKEN"), os.environ.get("MINIDOCK_CLASS_REGISTRY")
    if not (token and named and os.environ.get("JUPYTERHUB_USER")):
        return None
    return token if server_host(server or "docker.io") == server_host(named) else None


def cmd_logout(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    from ..remotes import account
    return account.logout(engine, args.server)


def cmd_search(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    from ..remotes import account
    return account.search(engine, args.term, args.registry, limit=args.limit, trace=_trace(args, io))


def cmd_manifest_inspect(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    from ..remotes import account
    return account.manifest_inspect(engine, args.name, trace=_trace(args, io))
