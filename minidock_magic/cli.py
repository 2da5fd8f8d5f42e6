"""``minidock``: the command line. Errors are one line on stderr and docker's exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn, cast

from .commands import Streams, UsageError, build_parser, handler_of
from .errors import MinidockError

if TYPE_CHECKING:
    from .facade import Minidock

ENGINE_ERROR_125 = ("run", "create")


def render_text(result: Any) -> str | None:
    """The plain-text form of a handler's result, as the docker CLI would print it."""
    if result is None:
        return None
    if isinstance(result, str):
        return result
    if isinstance(result, list) and all(isinstance(x, str) for x in result):
        return "\n".join(result) or None
    if isinstance(result, (dict, list)):
        import json  # only `inspect` and the like print JSON; `run` never loads it for this
        return json.dumps(result, indent=4, ensure_ascii=False)
    return str(result)


def exit_status(result: Any) -> int:
    """A result may carry its own status (a container's exit code, a failed check)."""
    code = getattr(result, "exit_code", None)
    if isinstance(code, int):
        return code
    return 0 if getattr(result, "ok", True) else 1


def _skip_httpx_cli() -> None:
    """httpx's ``__init__`` imports its own command-line client (click, rich, pygments) whenever
    those happen to be installed — ~50 ms of every ``minidock pull``/``push`` (benchmarks/
    RESULTS.md). This process never runs httpx's CLI, so the module is marked absent before httpx
    is imported (a ``None`` in ``sys.modules`` makes its import raise ImportError), and httpx
    falls back to the stub it has for exactly that case. Only the CLI process does this: a
    notebook's ``%dock`` leaves the kernel's modules alone."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    from .facade import Minidock

    _skip_httpx_cli()

    streams = Streams()
    args = None
    try:
        args = build_parser().parse_args(argv)
        handler = handler_of(args)
        # registry serve|adduser|garbage-collect work on the files they are given, not on a store:
        # they set needs_engine=False and take None (their parameter says Minidock | None).
        engine = Minidock(args.home) if getattr(args, "needs_engine", True) else cast("Minidock", None)
        result = handler(engine, args, streams)
    except UsageError as exc:
        print(f"minidock: {exc}", file=sys.stderr)
        return exc.exit_code
    except MinidockError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        # docker: a container that could not be created or started at all is 125
        return 125 if getattr(args, "subcommand", None) in ENGINE_ERROR_125 else 1
    except OSError as exc:  # a file the user named could not be read or written
        print(f"Error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    text = render_text(result)
    if text:
        try:
            print(text)
        except BrokenPipeError:  # `minidock graph | head`: the reader had enough
            sys.stderr.close()
    return exit_status(result)


def console() -> NoReturn:
    """The ``minidock`` command (``pyproject.toml``'s script, ``python -m minidock_magic.cli``):
    ``main``, then out of the process without the interpreter's teardown (see ``exit_now``)."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """Leave the process as ``sys.exit(code)`` would, less the part no command needs: Python's own
    finalization first waits for non-daemon threads, runs the ``atexit`` callbacks (which include
    ``weakref.finalize``'s) and flushes stdout and stderr — done here in that order — and then
    tears down every module and collects every object, ~15 ms of a ``pull``'s ~150 ms start
    (``python -m benchmarks.ab``). Every file a command writes is closed (and fsynced where it
    matters) by the code that wrote it, so nothing waits for that teardown. Only the command's
    own process comes here: ``main`` returns to in-process callers (tests, ``%dock``)."""
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx calls first
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except (OSError, ValueError):  # a reader gone (`minidock images | head`): nothing to tell
            pass
    os._exit(code)


if __name__ == "__main__":
    console()
