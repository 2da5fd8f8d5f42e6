"""The registry client's default transport: httpx on the standard library's ``http.client``.

httpx stays the client (auth flows, event hooks for ``--trace``, redirects, error types, tests
with ``MockTransport``); this only moves bytes. Why (benchmarks/RESULTS.md §3, §4): httpcore and
h11 read a body in 64 KiB pieces with copies in Python, which made our pull 2.3× slower than
skopeo's, while ``HTTPResponse.readinto`` a 1 MiB buffer is a loop in C; and httpx's default
transport imports httpcore, anyio and trio (~90 ms per CLI call). HTTP/1.1 only, one kept-alive
connection per (scheme, host, port). Proxies from the environment remain httpx's own transports.
"""

from __future__ import annotations

import functools
import http.client
import itertools
import os
import select
import socket
import ssl
import threading
from collections.abc import Iterator

import httpx

#: Bytes per read from the socket, and the largest piece a response body is handed out in.
PIECE = 1 << 20
#: Safe to send twice (RFC 9110 §9.2.2): the only requests re-sent once their body went out.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
#: What a peer that closed the connection looks like, in plain TCP and in TLS.
_DROPPED = (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError)

Origin = tuple[str, str, int]  # scheme, host, port


def tls_context() -> ssl.SSLContext:
    """Verified TLS as httpx does it (``verify=True``): ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``,
    else certifi's bundle, else the system's. Built once per setting: loading a bundle is ~30 ms."""
    return _tls_context(os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)


@functools.lru_cache(maxsize=4)
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile is None and capath is None:
        try:
            import certifi  # httpx depends on it; the system's store is the fallback
            cafile = certifi.where()
        except ImportError:
            pass
    return ssl.create_default_context(cafile=cafile, capath=capath)


def _origin(request: httpx.Request) -> Origin:
    scheme = request.url.scheme
    if scheme not in ("http", "https"):
        raise httpx.UnsupportedProtocol(f"cannot send a request to {scheme}://", request=request)
    return scheme, request.url.host, request.url.port or (443 if scheme == "https" else 80)


def _closed_by_peer(sock: socket.socket | None) -> bool:
    """An idle connection has nothing to read: if it is readable, the server closed it (EOF or
    reset) while it sat in the pool. Checked before reuse, so a stale connection is never sent
    a request (httpcore does the same)."""
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def _error(exc: BaseException, request: httpx.Request, *, writing: bool) -> httpx.TransportError:
    """http.client's and the socket's exceptions as httpx's, so ``except httpx.RequestError``
    sees the same family it saw with httpx's own transport."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError
        return (httpx.WriteTimeout if writing else httpx.ReadTimeout)(message, request=request)
    if isinstance(exc, http.client.HTTPException):  # a bad status line, headers, chunk, or EOF
        return httpx.RemoteProtocolError(message, request=request)
    return (httpx.WriteError if writing else httpx.ReadError)(message, request=request)


class _Failed(Exception):
    """A send that failed, and whether it may go once more on a new connection."""

    def __init__(self, error: httpx.TransportError, cause: BaseException, retry: bool) -> None:
        super().__init__(str(error))
        self.error, self.cause, self.retry = error, cause, retry


class _Body(httpx.SyncByteStream):
    """A response body read straight from the socket into one buffer; the connection goes back
    to the pool only when the body was read to its end."""

    def __init__(self, transport: StdlibTransport, origin: Origin,
                 connection: http.client.HTTPConnection, response: http.client.HTTPResponse,
                 request: httpx.Request, keep: bool) -> None:
        self._transport, self._origin, self._connection = transport, origin, connection
        self._response, self._request, self._keep = response, request, keep
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        # Sized to the body when its length is known: a manifest does not need a MiB.
        length = PIECE if response.length is None else response.length
        buffer = memoryview(bytearray(max(1, min(PIECE, length))))
        while True:
            try:
                count = response.readinto(buffer)
            except (OSError, http.client.HTTPException) as exc:
                raise _error(exc, self._request, writing=False) from exc
            if not count:
                break
            # A copy the caller may keep; the buffer is read into again at once.
            yield bytes(buffer[:count])
        if response.length:  # http.client ends a short Content-Length body without a word
            raise httpx.RemoteProtocolError(
                f"peer closed the connection with {response.length} bytes of the body unsent",
                request=self._request)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        response = self._response
        # Read to its end (not cut short), and the server did not say it will close.
        reusable = self._keep and response.isclosed() and not response.length and not response.will_close
        response.close()
        self._transport._release(self._origin, self._connection, reusable)


class StdlibTransport(httpx.BaseTransport):
    """HTTP/1.1 over ``http.client``: one kept-alive connection per (scheme, host, port).

    ``ssl_context``: for https, instead of ``tls_context()`` (tests pass one trusting their own CA).
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl_context = ssl_context
        self._idle: dict[Origin, http.client.HTTPConnection] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        origin = _origin(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout") or {}
        connection, reused = self._checkout(origin, request, timeouts)
        try:
            response, keep = self._exchange(connection, request, timeouts)
        except _Failed as failed:
            connection.close()
            if not (reused and failed.retry):
                raise failed.error from failed.cause
            # The server closed the kept-alive connection just as we reused it (after the check
            # in _checkout): a request it cannot have acted on, or an idempotent one, goes once
            # more on a new connection. Its body is bytes or a re-readable ``Upload`` (wire.py);
            # a generator cannot be replayed (StreamConsumed, before anything is sent), and then
            # the first error stands.
            connection = self._connect(origin, request, timeouts)
            try:
                response, keep = self._exchange(connection, request, timeouts)
            except _Failed as again:
                connection.close()
                raise again.error from again.cause
            except httpx.StreamConsumed:
                connection.close()
                raise failed.error from failed.cause
            except BaseException:
                connection.close()
                raise
        except BaseException:  # an ``Upload`` that ran short, Ctrl+C: the connection is unusable
            connection.close()
            raise
        return httpx.Response(
            response.status,
            # http.client decodes header bytes as latin-1, so this gives back the exact bytes
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.getheaders()],
            stream=_Body(self, origin, connection, response, request, keep),
            extensions={"http_version": b"HTTP/1.0" if response.version == 10 else b"HTTP/1.1",
                        "reason_phrase": response.reason.encode("latin-1", "replace")})

    def _checkout(self, origin: Origin, request: httpx.Request,
                  timeouts: dict[str, float | None]) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            connection = self._idle.pop(origin, None)
        if connection is not None:
            if not _closed_by_peer(connection.sock):
                return connection, True
            connection.close()
        return self._connect(origin, request, timeouts), False

    def _connect(self, origin: Origin, request: httpx.Request,
                 timeouts: dict[str, float | None]) -> http.client.HTTPConnection:
        scheme, host, port = origin
        timeout = timeouts.get("connect")
        connection: http.client.HTTPConnection
        if scheme == "https":
            # No TLS context at all for plain http: loading the CA bundle is wasted there.
            connection = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                     context=self._ssl_context or tls_context())
        else:
            connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            connection.connect()  # TCP, then the TLS handshake, both within the connect timeout
        except TimeoutError as exc:
            connection.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from None
        except OSError as exc:  # refused, unknown host, unreachable, a certificate not trusted
            connection.close()
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return connection

    def _exchange(self, connection: http.client.HTTPConnection, request: httpx.Request,
                  timeouts: dict[str, float | None],
                  ) -> tuple[http.client.HTTPResponse, bool]:
        """Send ``request``, read the status line and headers; also say whether the connection
        may be kept. Raises ``_Failed`` for what the network did, anything else as it comes."""
        sock = connection.sock
        assert sock is not None
        sock.settimeout(timeouts.get("write"))
        chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
        # The first piece before the first byte goes out: a body that cannot be read again
        # (a generator, on a retry) raises StreamConsumed here, having sent nothing.
        pieces = iter(request.stream)  # type: ignore[arg-type]
        first = next(pieces, b"")
        try:
            connection.putrequest(request.method, request.url.raw_path.decode("ascii"),
                                  skip_host=True, skip_accept_encoding=True)  # httpx sets both
            for name, value in request.headers.raw:
                connection.putheader(name, value)
            connection.endheaders()
        except OSError as exc:
            # Dropped before any of the body went out: the request cannot have been acted on.
            raise _Failed(_error(exc, request, writing=True), exc, isinstance(exc, _DROPPED)) from None
        # Only the sends are guarded: an error reading the body's source (a file) is not the
        # network's and goes up as it is.
        for piece in itertools.chain((first,), pieces):
            if not piece:
                continue
            try:
                # Pieces go out as they come, not re-cut: an ``Upload`` reads 1 MiB at a time.
                connection.send(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
            except OSError as exc:
                return self._answered_early(connection, request, timeouts, exc), False
        if chunked:
            try:
                connection.send(b"0\r\n\r\n")
            except OSError as exc:
                return self._answered_early(connection, request, timeouts, exc), False
        sock.settimeout(timeouts.get("read"))
        try:
            return connection.getresponse(), True
        except (OSError, http.client.HTTPException) as exc:
            # No answer: the server may have acted on the request or not, so only an idempotent
            # one may go again, and only if nothing at all came back (an EOF or a reset).
            retry = isinstance(exc, _DROPPED) and request.method in IDEMPOTENT
            raise _Failed(_error(exc, request, writing=False), exc, retry) from None

    @staticmethod
    def _answered_early(connection: http.client.HTTPConnection, request: httpx.Request,
                        timeouts: dict[str, float | None], exc: OSError) -> http.client.HTTPResponse:
        """The body could not be sent. A server may answer before reading a whole body (a 401,
        a 413) and close: that answer is the one to report, as httpcore does. Else the error."""
        if isinstance(exc, _DROPPED) and connection.sock is not None:
            connection.sock.settimeout(timeouts.get("read"))
            try:
                return connection.getresponse()
            except (OSError, http.client.HTTPException):
                pass
        # Part of the body went out, so the server may have acted on it: only an idempotent
        # request may go again.
        retry = isinstance(exc, _DROPPED) and request.method in IDEMPOTENT
        raise _Failed(_error(exc, request, writing=True), exc, retry) from None

    def _release(self, origin: Origin, connection: http.client.HTTPConnection,
                 reusable: bool) -> None:
        with self._lock:
            if reusable and not self._closed and origin not in self._idle:
                self._idle[origin] = connection
                return
        connection.close()  # one idle connection per origin is enough for a registry client

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle.values()), {}
        for connection in idle:
            connection.close()
