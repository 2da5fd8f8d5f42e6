"""``%dock`` and ``%%dock``: the CLI's grammar inside a notebook, results as rich objects.

A thin skin: parsing is ``commands.build_parser`` (the same grammar as ``minidock``), the work is
``Minidock``; this module only chooses what a cell shows. Errors are one line, never a traceback.
"""

from __future__ import annotations

import io
import json
import shlex
import sys
from html import escape
from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Enum, Unicode, observe

from . import i18n
from .cli import render_text
from .commands import Streams, UsageError, build_parser, handler_of
from .commands.notebook import WidgetRequest
from .display.trace_summary import is_trace_line, summarise
from .errors import MinidockError
from .oci.reference import is_registry_host

if TYPE_CHECKING:
    from .facade import Minidock


class JSONResult:
    """JSON (``inspect``) shown collapsed in a notebook and indented as text."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def _repr_json_(self) -> Any:
        return self.data

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(json.dumps(self.data, indent=4, ensure_ascii=False))


class ErrorLine:
    """An error shown as one red line; ``%dock`` returns it instead of raising."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        return f"<pre style='color:#b00020;margin:0'>{escape(self.message)}</pre>"


@magics_class
class DockMagics(Magics):
    home = Unicode("", help="Store directory (default: $MINIDOCK_HOME or the user data dir)").tag(config=True)
    compression = Unicode("gzip", help="Layer compression for new layers: gzip, none, zstd").tag(config=True)
    snapshotter = Unicode("", help="overlay or copy (default: what this host allows)").tag(config=True)
    default_registry = Unicode("", help="Registry host for `%dock pull NAME` and `%dock search` when "
                               "the name has none (e.g. localhost:5000 for a class registry)").tag(config=True)
    isolation = Enum(["", "namespaces", "rootless", "proot"], "",
                     help="Isolation for `%dock run`/`create` (default: the strongest this host allows; "
                     "proot is not a security boundary)").tag(config=True)

    language = Unicode("", help="Language of diagram labels, checker answers and summaries: en or zh "
                       "(default: $MINIDOCK_LANG, else English)").tag(config=True)

    @observe("language")
    def _language_changed(self, change: Any) -> None:
        if change["new"]:
            i18n.use_language(change["new"])

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._engine: Minidock | None = None
        self._engine_key: tuple[str, ...] | None = None

    @property
    def engine(self) -> Minidock:
        from .facade import Minidock
        # proot cannot mount overlay layers: a home made for it copies them instead.
        snapshotter = self.snapshotter or ("copy" if self.isolation == "proot" else "")
        key = (self.home, self.compression, snapshotter)
        if self._engine is None or key != self._engine_key:
            self._engine = Minidock(self.home or None, compression=self.compression,
                                    snapshotter=snapshotter or None)
            self._engine_key = key
        return self._engine

    @line_cell_magic
    def dock(self, line: str, cell: str | None = None) -> Any:
        """Run a minidock command: ``%dock images``, ``%dock run busybox echo hi``.

        As a cell magic, the cell is the input: ``%%dock build -t NAME`` takes a Dockerfile,
        ``%%dock run IMAGE`` runs the cell as a shell script in the container.
        ``%dock login -u NAME HOST`` asks for the password (getpass); ``--password-from VAR``
        reads it from the Python variable VAR. ``%dock --help`` and ``%dock COMMAND --help`` list
        what there is.
        """
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            return ErrorLine(f"%dock: {exc}")
        try:
            argv, stdin = login_password(argv, self.shell.user_ns if self.shell is not None else {})
        except MinidockError as exc:
            return ErrorLine(str(exc))
        argv = with_isolation(with_default_registry(argv, self.default_registry), self.isolation)
        return run_command(self.engine, argv, cell, stdin)


def with_default_registry(argv: list[str], registry: str) -> list[str]:
    """A class registry as the default for pulls and searches: ``pull me/app`` becomes
    ``pull localhost:5000/me/app`` (push keeps docker's rule: the name says where it goes).

    >>> with_default_registry(["pull", "me/app:1"], "localhost:5000")
    ['pull', 'localhost:5000/me/app:1']
    >>> with_default_registry(["pull", "example.com/app"], "localhost:5000")
    ['pull', 'example.com/app']
    >>> with_default_registry(["search", "app"], "localhost:5000")
    ['search', '--registry', 'localhost:5000', 'app']
    """
    if not registry or not argv:
        return argv
    if argv[0] == "search" and "--registry" not in argv:
        return ["search", "--registry", registry, *argv[1:]]
    if argv[0] == "pull" and len(argv) >= 2 and not argv[-1].startswith("-"):
        first, slash, _ = argv[-1].partition("/")
        if not (slash and is_registry_host(first)):
            return [*argv[:-1], f"{registry}/{argv[-1]}"]
    return argv


def with_isolation(argv: list[str], isolation: str) -> list[str]:
    """``%config DockMagics.isolation`` as the ``--isolation`` of every run and create.

    >>> with_isolation(["run", "busybox", "true"], "proot")
    ['run', '--isolation', 'proot', 'busybox', 'true']
    >>> with_isolation(["run", "--isolation", "rootless", "busybox"], "proot")
    ['run', '--isolation', 'rootless', 'busybox']
    >>> with_isolation(["images"], "proot"), with_isolation(["run", "busybox"], "")
    (['images'], ['run', 'busybox'])
    """
    if not isolation or not argv or argv[0] not in ("run", "create") \
            or any(a == "--isolation" or a.startswith("--isolation=") for a in argv):
        return argv
    return [argv[0], "--isolation", isolation, *argv[1:]]


class NotebookPrompt(io.StringIO):
    """stdin for ``%dock login`` without a password: the kernel's own prompt (ipykernel routes
    ``getpass`` and ``input`` to the notebook's password box), so the saved cell holds no secret."""

    def isatty(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:
        return input() + "\n"


def login_password(argv: list[str], namespace: dict[str, Any]) -> tuple[list[str], Any]:
    """``%dock login`` in a notebook: ``--password-from NAME`` reads the password from the Python
    variable NAME (the saved cell shows only the name); with no password at all, the kernel asks.

    >>> login_password(["login", "-u", "bob", "--password-from", "PW", "host"], {"PW": "s3"})[0]
    ['login', '-u', 'bob', '--password-stdin', 'host']
    """
    if not argv or argv[0] != "login":
        return argv, None
    if "--password-from" in argv:
        at = argv.index("--password-from")
        if at + 1 >= len(argv) or argv[at + 1] not in namespace:
            raise UsageError("login: --password-from needs the name of a Python variable that holds "
                             "the password")
        value = str(namespace[argv[at + 1]])
        return [*argv[:at], "--password-stdin", *argv[at + 2:]], io.StringIO(value)
    if any(a in ("-p", "--password", "--password-stdin") or a.startswith(("-p", "--password="))
           for a in argv[1:]):
        return argv, None
    return argv, NotebookPrompt()


def run_command(engine: Minidock, argv: list[str], cell: str | None = None, stdin: Any = None) -> Any:
    """Parse, run and choose what a cell shows. Shared with tests, which call it directly."""
    parser = build_parser(prog="%dock", notebook=True)
    try:
        args = parser.parse_args(argv)
    except SystemExit:  # --help printed its text already
        return None
    except MinidockError as exc:
        return ErrorLine(str(exc))
    args.cell = cell
    stdout = TraceGrouper(sys.stdout) if getattr(args, "trace", False) else sys.stdout
    try:
        result = handler_of(args)(engine, args, Streams(stdout=stdout, stderr=sys.stderr, stdin=stdin))
    except MinidockError as exc:
        return ErrorLine(f"Error: {exc}{i18n.gloss(exc)}")
    except KeyboardInterrupt:
        return ErrorLine("interrupted")
    except StdinNotImplementedError:
        return ErrorLine("Error: this kernel cannot ask for a password (it runs without input): "
                         "put it in a variable and use --password-from VARIABLE")
    finally:
        if isinstance(stdout, TraceGrouper):
            stdout.summarise()
    if isinstance(result, WidgetRequest):
        return widget_for(engine, result)
    return presentable(result)


class TraceGrouper:
    """A cell's stdout for ``--trace``: status lines pass through, the HTTP lines are kept and
    shown at the end grouped by step (check, upload, commit, manifest…) with short digests."""

    def __init__(self, out: Any) -> None:
        self.out, self.trace, self._partial = out, [], ""

    def write(self, data: str) -> int:
        self._partial += data
        *complete, self._partial = self._partial.split("\n")
        for line in complete:
            if is_trace_line(line):
                self.trace.append(line)
            else:
                self.out.write(line + "\n")
        return len(data)

    def flush(self) -> None:
        self.out.flush()

    def summarise(self) -> None:
        if self._partial:
            self.write("\n")
        if self.trace:
            self.out.write(summarise(self.trace) + "\n")
            self.out.flush()


def widget_for(engine: Minidock, request: WidgetRequest) -> Any:
    """The widget a notebook-only command (``explore``, ``panel``) asked for."""
    from .display import container_panel, explore
    try:
        if request.command == "explore":
            return explore(engine, request.target)
        return container_panel(engine, request.target)
    except MinidockError as exc:
        return ErrorLine(f"Error: {exc}")


def presentable(result: Any) -> Any:
    """Rich objects pass through; JSON becomes collapsible; lines are printed, not listed."""
    if result is None or any(hasattr(result, f"_repr_{kind}_") for kind in ("html", "svg", "mimebundle")):
        return result
    if isinstance(result, (dict, list)) and not all(isinstance(x, str) for x in result):
        return JSONResult(result)
    text = render_text(result)
    if text:
        print(text)
    return None


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(DockMagics)

    def namespaced(line: str, cell: str) -> None:
        """``%%namespaced KEY``: a lesson cell only a host with namespaces can show (see
        ``lessons/backend.py``)."""
        from .lessons.backend import namespaced_cell
        namespaced_cell(ipython, line, cell)

    ipython.register_magic_function(namespaced, magic_kind="cell", magic_name="namespaced")


__all__ = ["DockMagics", "ErrorLine", "JSONResult", "load_ipython_extension", "run_command"]
