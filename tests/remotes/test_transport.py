"""The plain-http transport against a real HTTP/1.1 server on 127.0.0.1 that we can make
misbehave: kept-alive connections, a server that drops an idle one, chunked bodies both ways,
a slow answer, nobody listening."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest

from minidock_magic.errors import Unavailable
from minidock_magic.remotes.client import RegistryClient
from minidock_magic.remotes.transport import PIECE, StdlibTransport
from tests.remotes.conftest import free_port

BIG = os.urandom(5 * PIECE + 123)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    peers: ClassVar[list[int]] = []  # client ports, one per request
    drop_after_reply = False

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, body: bytes, *, chunked: bool = False) -> None:
        self.send_response(200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 70_000):
                piece = body[i:i + 70_000]
                self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        # A server that forgets idle connections without saying so (no "Connection: close").
        self.close_connection = Handler.drop_after_reply

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self) -> None:
        Handler.peers.append(self.client_address[1])
        if self.path == "/slow":
            time.sleep(2)
            try:
                self._reply(b"too late")
            except BrokenPipeError:  # the client gave up, as it should
                self.close_connection = True
            return
        self._reply(BIG, chunked=self.path == "/chunked")

    def do_PUT(self) -> None:
        Handler.peers.append(self.client_address[1])
        self._reply(hashlib.sha256(self._body()).hexdigest().encode())


@pytest.fixture
def server() -> Iterator[str]:
    Handler.peers, Handler.drop_after_reply = [], False
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, transport=StdlibTransport(),
                      timeout=httpx.Timeout(5.0, read=0.5)) as c:
        yield c


def test_a_body_arrives_whole_in_pieces_of_at_most_a_mebibyte(client: httpx.Client) -> None:
    with client.stream("GET", "/blob") as response:
        pieces = list(response.iter_bytes())
    assert b"".join(pieces) == BIG
    assert max(map(len, pieces)) <= PIECE


def test_requests_share_one_kept_alive_connection(client: httpx.Client) -> None:
    for _ in range(3):
        assert client.get("/blob").content == BIG
    assert len(set(Handler.peers)) == 1


def test_a_connection_the_server_dropped_is_replaced_once(client: httpx.Client) -> None:
    Handler.drop_after_reply = True
    assert client.get("/blob").status_code == 200
    time.sleep(0.1)  # the server has closed the idle connection by now
    digest = client.put("/upload", content=b"x" * 1000).text
    assert digest == hashlib.sha256(b"x" * 1000).hexdigest()
    assert len(set(Handler.peers)) == 2


def test_chunked_both_ways(client: httpx.Client) -> None:
    assert client.get("/chunked").content == BIG
    pieces = [b"a" * 1000, b"", b"b" * 70_000]
    response = client.put("/upload", content=iter(pieces))  # no length: chunked
    assert response.text == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_a_slow_answer_is_a_read_timeout(client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.get("/slow")
    assert client.get("/blob").content == BIG  # the timed-out connection was not reused


def test_nobody_listening_is_one_line_from_the_registry_client() -> None:
    port = free_port()
    with pytest.raises(httpx.ConnectError):
        httpx.Client(transport=StdlibTransport()).get(f"http://127.0.0.1:{port}/v2/")
    with RegistryClient(f"127.0.0.1:{port}") as registry, \
            pytest.raises(Unavailable, match="connection refused"):
        registry.ping()


def test_https_is_left_to_httpx() -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        httpx.Client(transport=StdlibTransport()).get("https://127.0.0.1:1/")
