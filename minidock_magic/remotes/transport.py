"""A plain-http transport for httpx on the standard library's ``http.client``.

httpx stays the client (auth flows, event hooks for ``--trace``, redirects, errors); this only
moves bytes. Why: for a registry on the local network — the classroom case — httpcore + h11 read
a body in 64 KiB pieces with copies in Python, which made our pull 2.3× slower than skopeo's
(benchmarks/RESULTS.md, "pull, client"); ``HTTPResponse.readinto`` a 1 MiB buffer is a loop in C.
And building httpx's default transport imports httpcore, anyio and trio (~90 ms per CLI call).
HTTPS registries keep httpx's own transport (TLS, proxies, HTTP/2 stay its job).
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator

import httpx

#: Bytes per read from the socket and per piece handed to the caller.
PIECE = 1 << 20
_RESET = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)


class _Body(httpx.SyncByteStream):
    """A response body read straight from the socket; the connection goes back to the pool
    only when the body was read to its end."""

    def __init__(self, transport: StdlibTransport, origin: tuple[str, int],
                 connection: http.client.HTTPConnection, response: http.client.HTTPResponse,
                 request: httpx.Request) -> None:
        self._transport, self._origin = transport, origin
        self._connection, self._response, self._request = connection, response, request

    def __iter__(self) -> Iterator[bytes]:
        buffer = memoryview(bytearray(PIECE))
        while True:
            with _mapped(self._request):
                count = self._response.readinto(buffer)
            if not count:
                return
            yield bytes(buffer[:count])

    def close(self) -> None:
        reusable = self._response.isclosed() and not self._response.will_close
        self._response.close()
        self._transport._release(self._origin, self._connection, reusable)


class _mapped:
    """http.client's and socket's exceptions as httpx's, so callers see one error family."""

    def __init__(self, request: httpx.Request) -> None:
        self._request = request

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _tb: object) -> bool:
        if exc is None or isinstance(exc, httpx.HTTPError):
            return False
        message = str(exc) or type(exc).__name__
        if isinstance(exc, (socket.timeout, TimeoutError)):
            raise httpx.ReadTimeout(message, request=self._request) from exc
        if isinstance(exc, (http.client.HTTPException, ConnectionResetError, BrokenPipeError)):
            raise httpx.RemoteProtocolError(message, request=self._request) from exc
        if isinstance(exc, OSError):
            raise httpx.ReadError(message, request=self._request) from exc
        return False


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None]:
    timeout = request.extensions.get("timeout") or {}
    return timeout.get("connect"), timeout.get("read")


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 over ``http.client``, one kept-alive connection per host and port."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"this transport speaks plain http, not "
                                            f"{request.url.scheme}", request=request)
        origin = (request.url.host, request.url.port or 80)
        with _mapped(request):
            connection, response = self._send(origin, request)
        return httpx.Response(
            response.status, headers=response.getheaders(),
            stream=_Body(self, origin, connection, response, request),
            extensions={"http_version": b"HTTP/1.1",
                        "reason_phrase": response.reason.encode("latin-1", "replace")})

    def _send(self, origin: tuple[str, int], request: httpx.Request,
              ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        connection, reused = self._connection(origin, request)
        while True:
            try:
                return connection, self._exchange(connection, request)
            except _RESET:
                connection.close()
                if not reused:
                    raise
            except BaseException:
                connection.close()
                raise
            # A kept-alive connection the server had closed meanwhile: the request never got
            # there, so once more on a new one (bodies here are bytes or a re-readable Upload,
            # see wire.py).
            connection, reused = self._connection(origin, request, fresh=True)

    def _connection(self, origin: tuple[str, int], request: httpx.Request, *,
                    fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        connect, read = _timeouts(request)
        if not fresh:
            with self._lock:
                idle = self._idle.get(origin)
                if idle:
                    connection = idle.pop()
                    if connection.sock is not None:
                        connection.sock.settimeout(read)
                    return connection, True
        connection = http.client.HTTPConnection(*origin, timeout=connect)
        try:
            connection.connect()
        except (socket.timeout, TimeoutError) as exc:
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc), request=request) from None
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sock.settimeout(read)
        return connection, False

    def _exchange(self, connection: http.client.HTTPConnection,
                  request: httpx.Request) -> http.client.HTTPResponse:
        """Send ``request`` and read the response's status line and headers."""
        target = request.url.raw_path.decode("ascii")
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        connection.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.raw:
            connection.putheader(name, value)
        connection.endheaders()
        for piece in request.stream:  # type: ignore[union-attr]
            if chunked:
                if piece:
                    connection.send(b"%x\r\n%b\r\n" % (len(piece), piece))
            else:
                connection.send(piece)
        if chunked:
            connection.send(b"0\r\n\r\n")
        return connection.getresponse()

    def _release(self, origin: tuple[str, int], connection: http.client.HTTPConnection,
                 reusable: bool) -> None:
        if not reusable:
            connection.close()
            return
        with self._lock:
            self._idle.setdefault(origin, []).append(connection)

    def close(self) -> None:
        with self._lock:
            for connections in self._idle.values():
                for connection in connections:
                    connection.close()
            self._idle.clear()
