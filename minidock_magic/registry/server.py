"""Run the registry: in a background thread (notebooks, tests) or in the foreground (the CLI).

>>> import tempfile
>>> with RegistryServer(tempfile.mkdtemp()) as server:
...     server.url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from ..diagrams import LayerGraph, registry_graph
from ..errors import InvalidArgument, Unavailable
from .app import API_VERSION_HEADER, LoggedRequest, create_app
from .auth import Auth, Mode, add_user
from .storage import Storage

__all__ = ["RegistryServer", "add_user", "exposure_warning", "garbage_collect", "serve"]


def _auth(auth_mode: str, htpasswd: Path | str | None) -> Auth:
    if auth_mode == "jupyterhub":  # a hub-managed service: the hub's users and tokens
        from .hub import HubAccounts
        return Auth("jupyterhub", accounts=HubAccounts.from_environment())
    return Auth(auth_mode, Path(htpasswd) if htpasswd is not None else None)  # type: ignore[arg-type]


#: uvloop and httptools where installed (they are dependencies), else asyncio and h11. The loop
#: comes from a factory, so a server in a notebook's thread leaves the kernel's event loop policy
#: alone. The API-version header is one of uvicorn's default headers, so it is on every answer,
#: even the 400 its HTTP parser sends for a request the app never sees (``create_app`` then
#: leaves it out, or it would be there twice).
SERVER_SETTINGS = {"loop": "auto", "http": "auto",
                   "headers": [(API_VERSION_HEADER[0].decode(), API_VERSION_HEADER[1].decode())]}


def _app(data_dir: Path, auth: Auth) -> Starlette:
    return create_app(data_dir, auth=auth, stamp_version=False)


def _config(app: Starlette, log_level: str, *, foreground: bool = False) -> uvicorn.Config:
    # In a thread, leave the host's (the notebook's) logging alone and keep quiet. In the
    # foreground, uvicorn's access log shows each request line (never headers, so no credentials).
    if foreground:
        return uvicorn.Config(app, log_level=log_level, lifespan="off", timeout_graceful_shutdown=5,
                              **SERVER_SETTINGS)
    return uvicorn.Config(app, log_level=log_level, access_log=False, log_config=None, lifespan="off",
                          timeout_graceful_shutdown=5, **SERVER_SETTINGS)


class RegistryServer:
    """A registry on ``host:port`` (port 0: any free port) served from a background thread."""

    def __init__(self, data_dir: Path | str, host: str = "127.0.0.1", port: int = 0,
                 auth_mode: Mode | str = "open", htpasswd: Path | str | None = None) -> None:
        self.data_dir, self.host, self.port = Path(data_dir), host, port
        self.auth = _auth(auth_mode, htpasswd)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app: Starlette | None = None

    @property
    def request_log(self) -> list[LoggedRequest]:
        """The requests served so far (method, path?query, status), oldest first — the protocol, visible."""
        return list(self.app.state.request_log) if self.app is not None else []

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def address(self) -> str:
        """``host:port`` as image references name it (``127.0.0.1:5000/me/app:1``)."""
        return self.url.removeprefix("http://")

    def start(self, timeout: float = 10.0) -> RegistryServer:
        if self._thread is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP, or asyncio leaves Nagle on for accepted sockets (40 ms per response).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise Unavailable(f"cannot listen on {self.host}:{self.port}: {error.strerror}") from None
        self.port = sock.getsockname()[1]
        self.app = _app(self.data_dir, self.auth)
        server = uvicorn.Server(_config(self.app, "error"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name=f"minidock-registry-{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise Unavailable(f"the registry on {self.host}:{self.port} did not start")
            time.sleep(0.01)
        self._server, self._thread, self._socket = server, thread, sock
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()
        self._server = self._thread = None

    def graph(self) -> LayerGraph:
        """Repositories and the blobs they share, as a diagram (``_repr_svg_`` in notebooks)."""
        return registry_graph(Storage(self.data_dir).contents())

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<RegistryServer {self.url} auth={self.auth.mode} data={self.data_dir} {state}>"


def parse_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:5000`` for IPv6; ``:5000`` means 127.0.0.1).

    >>> parse_addr("0.0.0.0:5000"), parse_addr(":5000"), parse_addr("[::1]:80")
    (('0.0.0.0', 5000), ('127.0.0.1', 5000), ('::1', 80))
    """
    host, sep, port = addr.rpartition(":")
    # isascii: str.isdigit() is also true for '²', which int() refuses (a traceback, not a line)
    if not sep or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise InvalidArgument(f"invalid address {addr!r}: expected HOST:PORT, e.g. 127.0.0.1:5000")
    return host.strip("[]") or "127.0.0.1", int(port)


def exposure_warning(addr: str, auth_mode: str) -> str | None:
    """One line when an open registry listens beyond this machine: anyone who reaches it can
    push, overwrite and delete images.

    >>> exposure_warning("127.0.0.1:5000", "open") is None, exposure_warning("0.0.0.0:5000", "public")
    (True, None)
    >>> exposure_warning("0.0.0.0:5000", "open").split(":")[0]
    'warning'
    """
    host, port = parse_addr(addr)
    if auth_mode != "open" or host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: it may well be reachable from elsewhere
    return (f"warning: --auth open on {host}:{port} lets anyone who can reach it push, overwrite "
            "and delete images; use --auth public or private with --htpasswd, or 127.0.0.1")


def serve(addr: str, data_dir: Path | str, auth_mode: str = "open", htpasswd: Path | str | None = None) -> None:
    """Serve in the foreground until interrupted (``minidock registry serve``)."""
    host, port = parse_addr(addr)
    app = _app(Path(data_dir), _auth(auth_mode, htpasswd))
    config = _config(app, "info", foreground=True)
    config.host, config.port = host, port
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl+C it shut down on
        uvicorn.Server(config).run()


def garbage_collect(data_dir: Path | str) -> tuple[int, int]:
    """Delete blobs no manifest references; return (blobs removed, bytes freed). Run it while idle."""
    return Storage(Path(data_dir)).garbage_collect()
