"""Container subcommands, with docker's flags and exit codes (125 engine, 126, 127, or the
container's own status)."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument
from . import Handler, Parser, Streams, Subcommands

if TYPE_CHECKING:
    from ..containers.options import RunOptions
    from ..facade import Minidock


@dataclass(frozen=True)
class Exited:
    """A command whose outcome is a container's exit status (``run``, ``start -a``, ``exec``)."""

    exit_code: int

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"exit status {self.exit_code}"


def _run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="a name for the container")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="K=V",
                        help="set an environment variable (K alone copies the host's)")
    parser.add_argument("-w", "--workdir", help="working directory inside the container")
    parser.add_argument("-u", "--user", help="UID[:GID] or name[:group] inside the container")
    parser.add_argument("-h", "--hostname", help="container host name (default: its short id)")
    parser.add_argument("--network", "--net", default="none", metavar="NETWORK",
                        help="none: own network namespace with only lo (default); host; "
                             "container:NAME (share that container's network namespace)")
    parser.add_argument("-p", "--publish", action="append", default=[],
                        metavar="[HOSTIP:]HOSTPORT:PORT", help="publish a container port on the "
                        "host (default address 127.0.0.1)")
    parser.add_argument("-P", "--publish-all", action="store_true",
                        help="publish every EXPOSEd port on a free host port")
    parser.add_argument("--entrypoint", help="override the image's ENTRYPOINT")
    parser.add_argument("--rm", action="store_true", help="remove the container when it exits")
    parser.add_argument("-i", "--interactive", action="store_true", help="keep stdin open")
    parser.add_argument("-t", "--tty", action="store_true", help="accepted for docker; no pseudo-tty")
    parser.add_argument("-m", "--memory", help="memory limit, e.g. 64m (where the host allows)")
    parser.add_argument("--cpus", type=float, help="CPU limit, e.g. 0.5 (where the host allows)")
    parser.add_argument("--pids-limit", type=int, help="process limit (where the host allows)")
    parser.add_argument("--isolation", choices=["namespaces", "rootless", "proot"],
                        help="force an isolation backend (default: the strongest this host allows)")
    parser.add_argument("-l", "--label", action="append", default=[], metavar="K=V")
    parser.add_argument("--security-opt", action="append", default=[], metavar="OPT",
                        help="seccomp=unconfined or seccomp=PROFILE.json (docker's format)")
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")


def register(sub: Subcommands) -> None:
    sub.add_parser("run", help="create and start a container", add_help=False, define=_run)
    sub.add_parser("create", help="create a container (its writable layer) without starting it",
                   add_help=False, define=_create)
    sub.add_parser("container", help="manage containers", define=_container)
    _register_common(sub, top=True)


def _run(run: argparse.ArgumentParser) -> None:
    run.add_argument("--help", action="help", help="show this help")
    run.add_argument("-d", "--detach", action="store_true", help="run in the background; print its id")
    _run_flags(run)
    run.set_defaults(handler=cmd_run)


def _create(create: argparse.ArgumentParser) -> None:
    create.add_argument("--help", action="help", help="show this help")
    _run_flags(create)
    create.set_defaults(handler=cmd_create)


def _container(container: Parser) -> None:
    _register_common(container.add_subparsers(dest="container_command", metavar="COMMAND"),
                     top=False)


def _register_common(sub: Subcommands, *, top: bool) -> None:
    sub.add_parser("start", help="start stopped containers (their writable layer is kept)",
                   define=_start)
    sub.add_parser("stop", help="stop containers (SIGTERM, then SIGKILL after -t seconds)",
                   define=lambda p: _stop(p, cmd_stop))
    sub.add_parser("restart", help="restart containers (stop then start)",
                   define=lambda p: _stop(p, cmd_restart))
    sub.add_parser("kill", help="send a signal (default KILL)", define=_kill)
    sub.add_parser("rm", help="remove containers (and their writable layers)", define=_rm)
    sub.add_parser("ps" if top else "ls", help="list containers", define=_ps)
    sub.add_parser("logs", help="what a container printed", define=_logs)
    sub.add_parser("wait", help="block until containers stop; print their exit codes",
                   define=_wait)
    sub.add_parser("exec", help="run a command in a running container", define=_exec)
    sub.add_parser("top", help="the processes of a running container", define=_top)
    sub.add_parser("diff", help="files the container changed: A added, C changed, D deleted",
                   define=_diff)
    sub.add_parser("commit", help="a new image from a container's writable layer", define=_commit)
    sub.add_parser("export", help="a container's whole filesystem as one tar", define=_export)
    sub.add_parser("cp", help="copy files between a container and the host", define=_cp)
    sub.add_parser("port", help="where a container's ports are published on the host",
                   define=_port)
    if top:
        sub.add_parser("inspect", help="low-level JSON about containers or images",
                       define=_inspect_any)
    else:
        sub.add_parser("inspect", help="low-level JSON about containers", define=_inspect)


def _start(start: argparse.ArgumentParser) -> None:
    start.add_argument("-a", "--attach", action="store_true", help="stream output and wait")
    start.add_argument("containers", nargs="+", metavar="CONTAINER")
    start.set_defaults(handler=cmd_start)


def _stop(p: argparse.ArgumentParser, handler: Handler) -> None:
    p.add_argument("-t", "--time", type=float, default=10.0, help="seconds to wait before killing")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    p.set_defaults(handler=handler)


def _kill(kill: argparse.ArgumentParser) -> None:
    kill.add_argument("-s", "--signal", default="KILL")
    kill.add_argument("containers", nargs="+", metavar="CONTAINER")
    kill.set_defaults(handler=cmd_kill)


def _rm(rm: argparse.ArgumentParser) -> None:
    rm.add_argument("-f", "--force", action="store_true", help="kill a running container first")
    rm.add_argument("containers", nargs="+", metavar="CONTAINER")
    rm.set_defaults(handler=cmd_rm)


def _ps(ps: argparse.ArgumentParser) -> None:
    ps.add_argument("-a", "--all", action="store_true", help="also stopped ones")
    ps.add_argument("-q", "--quiet", action="store_true", help="only ids")
    ps.set_defaults(handler=cmd_ps)


def _logs(logs: argparse.ArgumentParser) -> None:
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("container", metavar="CONTAINER")
    logs.set_defaults(handler=cmd_logs)


def _wait(wait: argparse.ArgumentParser) -> None:
    wait.add_argument("containers", nargs="+", metavar="CONTAINER")
    wait.set_defaults(handler=cmd_wait)


def _exec(exec_: argparse.ArgumentParser) -> None:
    exec_.add_argument("-d", "--detach", action="store_true")
    exec_.add_argument("-i", "--interactive", action="store_true")
    exec_.add_argument("-t", "--tty", action="store_true", help="accepted for docker")
    exec_.add_argument("-e", "--env", action="append", default=[])
    exec_.add_argument("-w", "--workdir")
    exec_.add_argument("-u", "--user")
    exec_.add_argument("container", metavar="CONTAINER")
    exec_.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")
    exec_.set_defaults(handler=cmd_exec)


def _top(top: argparse.ArgumentParser) -> None:
    top.add_argument("container", metavar="CONTAINER")
    top.set_defaults(handler=lambda engine, args, io: engine.containers.top(args.container))


def _diff(diff: argparse.ArgumentParser) -> None:
    diff.add_argument("container", metavar="CONTAINER")
    diff.set_defaults(handler=lambda engine, args, io: engine.containers.diff(args.container))


def _commit(commit: argparse.ArgumentParser) -> None:
    commit.add_argument("-m", "--message")
    commit.add_argument("-a", "--author")
    commit.add_argument("-c", "--change", action="append", default=[])
    commit.add_argument("container", metavar="CONTAINER")
    commit.add_argument("reference", nargs="?", metavar="REPOSITORY[:TAG]")
    commit.set_defaults(handler=cmd_commit)


def _export(export: argparse.ArgumentParser) -> None:
    export.add_argument("-o", "--output", help="file to write (default: stdout)")
    export.add_argument("container", metavar="CONTAINER")
    export.set_defaults(handler=cmd_export)


def _cp(cp: argparse.ArgumentParser) -> None:
    cp.add_argument("source", metavar="SRC", help="CONTAINER:PATH or a host path")
    cp.add_argument("dest", metavar="DEST", help="CONTAINER:PATH or a host path")
    cp.set_defaults(handler=lambda engine, args, io: engine.containers.copy(args.source, args.dest)
                    and None)


def _port(port: argparse.ArgumentParser) -> None:
    port.add_argument("container", metavar="CONTAINER")
    port.add_argument("private", nargs="?", metavar="PRIVATE_PORT[/tcp]")
    port.set_defaults(handler=lambda engine, args, io: engine.containers.port(args.container,
                                                                             args.private))


def _inspect_any(inspect: argparse.ArgumentParser) -> None:
    inspect.add_argument("targets", nargs="+", metavar="NAME|ID")
    inspect.set_defaults(handler=cmd_inspect)


def _inspect(inspect: argparse.ArgumentParser) -> None:
    inspect.add_argument("targets", nargs="+", metavar="CONTAINER")
    inspect.set_defaults(handler=lambda engine, args, io: [engine.containers.inspect(t)
                                                           for t in args.targets])


def _options(args: argparse.Namespace) -> RunOptions:
    # Here, not at the top: every command's parser is registered from this module, and only the
    # container commands need the options (a pull or push would import them for nothing).
    from ..containers.options import RunOptions, parse_memory
    labels = {}
    for label in args.label:
        key, _, value = label.partition("=")
        labels[key] = value
    command = list(args.command)
    cell = getattr(args, "cell", None)
    if cell is not None and cell.strip():  # %%dock run IMAGE: the cell is a shell script
        if command:
            raise InvalidArgument("%%dock run takes the command from the cell; give no command")
        command = ["/bin/sh", "-c", cell]
    return RunOptions(command=command, name=args.name, env=args.env, workdir=args.workdir,
                      user=args.user, hostname=args.hostname, network=args.network,
                      entrypoint=args.entrypoint, auto_remove=args.rm, interactive=args.interactive,
                      memory=parse_memory(args.memory) if args.memory else None, cpus=args.cpus,
                      pids_limit=args.pids_limit, isolation=args.isolation, labels=labels,
                      security_opt=list(args.security_opt), publish=list(args.publish),
                      publish_all=args.publish_all)


def warn_if_proot_as_root(isolation: str | None, io: Streams) -> None:
    """Root gets proot only by asking (``--isolation proot``): say so on every run, in one line,
    for proot leaves such a container with root's power over the host."""
    if isolation == "proot" and os.geteuid() == 0:
        from ..runtime.probe import PROOT_WARNING
        print(f"WARNING: {PROOT_WARNING}", file=io.stderr, flush=True)


def cmd_run(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    options = _options(args)
    warn_if_proot_as_root(options.isolation, io)
    stdin = sys.stdin if args.interactive else None
    config, code = engine.containers.run(args.image, options, detach=args.detach, stdout=io.stdout,
                                         stderr=io.stderr, stdin=stdin)
    return config.id if args.detach else Exited(code)


def cmd_create(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    warn_if_proot_as_root(args.isolation, io)
    return engine.containers.create(args.image, _options(args)).id


def cmd_start(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    for text in args.containers:
        warn_if_proot_as_root(engine.containers.get(text).isolation, io)
    if args.attach:
        if len(args.containers) != 1:
            raise InvalidArgument("start -a takes one container")
        _, code = engine.containers.start(args.containers[0], attach=True, stdout=io.stdout,
                                          stderr=io.stderr)
        return Exited(code)
    return [engine.containers.start(text)[0].name for text in args.containers]


def cmd_stop(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    return [engine.containers.stop(text, args.time).name for text in args.containers]


def cmd_restart(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    return [engine.containers.restart(text, args.time).name for text in args.containers]


def cmd_kill(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    return [engine.containers.kill(text, args.signal).name for text in args.containers]


def cmd_rm(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    return [engine.containers.remove(text, force=args.force).name for text in args.containers]


def cmd_ps(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    listing = engine.containers.ps(all=args.all)
    return [row.config.short_id for row in listing] if args.quiet else listing


def cmd_logs(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    out = getattr(io.stdout, "buffer", None)
    for chunk in engine.containers.logs(args.container, follow=args.follow):
        if out is not None:
            out.write(chunk)
            out.flush()
        else:
            io.stdout.write(chunk.decode(errors="replace"))
    return None


def cmd_wait(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    return [str(engine.containers.wait(text)) for text in args.containers]


def cmd_exec(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    code = engine.containers.exec(args.container, list(args.command), env=args.env,
                                  workdir=args.workdir, user=args.user,
                                  stdin=sys.stdin if args.interactive else None,
                                  stdout=io.stdout, stderr=io.stderr, detach=args.detach)
    return Exited(code)


def cmd_commit(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    image = engine.containers.commit(args.container, args.reference, message=args.message,
                                     author=args.author, changes=args.change)
    return str(image.id)


def cmd_export(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    if args.output:
        with open(args.output, "wb") as out:
            engine.containers.export(args.container, out)
        return None
    if sys.stdout.isatty():
        raise InvalidArgument("cowardly refusing to write a tar to a terminal: use -o FILE")
    engine.containers.export(args.container, sys.stdout.buffer)
    return None


def cmd_inspect(engine: Minidock, args: argparse.Namespace, io: Streams) -> Any:
    from ..errors import NotFound
    found = []
    for target in args.targets:
        try:
            found.append(engine.containers.inspect(target))
        except NotFound:
            found.append(engine.image_inspect(target))
    return found
