"""The registry client's own transport (``http.client`` under httpx) against real servers on
127.0.0.1: our registry, CNCF ``docker-registry`` (also over TLS), and a small HTTP/1.1 server
we can make misbehave in the ways a network does — an idle connection dropped, a request never
answered, a body cut short, a slow answer, an answer before the body was read, nobody listening.
"""

from __future__ import annotations

import hashlib
import io
import os
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar, NamedTuple

import httpx
import pytest

from minidock_magic.content.store import ContentStore
from minidock_magic.errors import Unavailable
from minidock_magic.oci.descriptor import Descriptor
from minidock_magic.oci.digest import Digest
from minidock_magic.registry import RegistryServer
from minidock_magic.registry import server as registry_server
from minidock_magic.remotes import transport as transport_module
from minidock_magic.remotes.client import RegistryClient
from minidock_magic.remotes.transport import PIECE, StdlibTransport
from minidock_magic.remotes.wire import Upload
from tests.conftest import need, run
from tests.registry.conftest import make_image
from tests.servers import DockerRegistry, free_port

pytestmark = pytest.mark.integration

BIG = os.urandom(5 * PIECE + 123)
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


class Counting(StdlibTransport):
    """Counts the connections it opens: kept-alive ones are not opened again."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.connects = 0

    def _connect(self, *args: object) -> object:  # type: ignore[override]
        self.connects += 1
        return super()._connect(*args)  # type: ignore[arg-type]


# -- a server that misbehaves on purpose --------------------------------------------------------
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise
    seen: ClassVar[list[tuple[str, str, int]]] = []  # (method, path, client port), one per request
    drop_after_reply = False

    def log_message(self, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.served = 0  # requests on this connection so far

    def _reply(self, body: bytes, *, chunked: bool = False, length: int | None = None) -> None:
        self.send_response(200)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 70_000):
                piece = body[i:i + 70_000]
                self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body)
        # A server that forgets idle connections without saying so (no "Connection: close").
        self.close_connection = Handler.drop_after_reply or length is not None

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def handle_one_request(self) -> None:
        super().handle_one_request()
        self.served += 1

    def do_GET(self) -> None:  # http.server's naming
        Handler.seen.append(("GET", self.path, self.client_address[1]))
        if self.path in ("/slow", "/v2/"):
            time.sleep(1.5)
            try:
                self._reply(b"too late")
            except (BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                self.close_connection = True
            return
        if self.path == "/short":  # promises more than it sends, then hangs up
            self._reply(BIG, length=len(BIG) + 1000)
            return
        self._reply(BIG, chunked=self.path == "/chunked")

    def do_PUT(self) -> None:
        Handler.seen.append((self.command, self.path, self.client_address[1]))
        if self.path == "/refuse":  # answers before reading the body, as a 413 or 401 does
            self.send_response(413)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        body = self._body()
        if self.path == "/vanish" and self.served > 0:
            # Reads a request on a kept-alive connection, then hangs up without a word: did it
            # act on it or not? The client cannot know.
            self.close_connection = True
            return
        self._reply(hashlib.sha256(body).hexdigest().encode())

    do_POST = do_PUT


@pytest.fixture
def server() -> Iterator[str]:
    Handler.seen, Handler.drop_after_reply = [], False
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


def ports(method: str | None = None) -> list[int]:
    return [port for m, _, port in Handler.seen if method in (None, m)]


def test_a_body_arrives_whole_in_pieces_of_at_most_a_mebibyte(client: httpx.Client) -> None:
    with client.stream("GET", "/blob") as response:
        pieces = list(response.iter_raw())
    assert b"".join(pieces) == BIG
    assert max(map(len, pieces)) == PIECE


def test_requests_share_one_kept_alive_connection(client: httpx.Client) -> None:
    for _ in range(3):
        assert client.get("/blob").content == BIG
    assert client.put("/upload", content=b"x").status_code == 200
    assert len(set(ports())) == 1


def test_a_connection_the_server_dropped_while_idle_is_replaced(client: httpx.Client) -> None:
    Handler.drop_after_reply = True
    assert client.get("/blob").status_code == 200
    time.sleep(0.1)  # the server has closed the idle connection by now
    # A POST, which must never go twice: the drop is seen before anything is sent.
    digest = client.post("/upload", content=b"x" * 1000).text
    assert digest == hashlib.sha256(b"x" * 1000).hexdigest()
    assert [m for m, _, _ in Handler.seen] == ["GET", "POST"]
    assert len(set(ports())) == 2


def test_an_unanswered_post_is_not_sent_again(client: httpx.Client) -> None:
    client.get("/blob")
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/vanish", content=b"x" * 1000)
    assert len(ports("POST")) == 1


def test_an_unanswered_put_goes_once_more_replaying_its_upload(client: httpx.Client) -> None:
    client.get("/blob")
    reported: list[int] = []
    body = Upload(io.BytesIO(BIG), 0, len(BIG), reported.append)
    response = client.put("/vanish", content=body, headers={"Content-Length": str(len(BIG))})
    assert response.text == hashlib.sha256(BIG).hexdigest()
    assert len(ports("PUT")) == 2 and len(set(ports())) == 2
    assert sum(reported) == len(BIG)  # the progress bar did not count the bytes twice


def test_a_body_that_cannot_be_replayed_is_not(client: httpx.Client) -> None:
    client.get("/blob")
    with pytest.raises(httpx.RemoteProtocolError):
        client.put("/vanish", content=(piece for piece in [b"a" * 100, b"b" * 100]))
    assert len(ports("PUT")) == 1


def test_an_answer_before_the_body_was_read_is_the_answer(client: httpx.Client) -> None:
    response = client.put("/refuse", content=b"x" * (32 << 20))
    assert response.status_code == 413
    assert client.get("/blob").content == BIG


def test_chunked_both_ways(client: httpx.Client) -> None:
    assert client.get("/chunked").content == BIG
    pieces = [b"a" * 1000, b"", b"b" * 70_000]
    response = client.put("/upload", content=iter(pieces))  # no length: chunked
    assert response.text == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_a_body_cut_short_is_an_error_not_an_end(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="1000 bytes"):
        client.get("/short")


def test_a_slow_answer_is_a_read_timeout(server: str, client: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        client.get("/slow")
    assert client.get("/blob").content == BIG  # the timed-out connection was not reused
    with RegistryClient(server.removeprefix("http://"), timeout=0.5) as registry, \
            pytest.raises(Unavailable, match=r"did not answer in time \(ReadTimeout\)$"):
        registry.ping()


def test_nobody_listening_is_one_line_from_the_registry_client() -> None:
    port = free_port()
    with pytest.raises(httpx.ConnectError, match="refused"):
        httpx.Client(transport=StdlibTransport()).get(f"http://127.0.0.1:{port}/v2/")
    with RegistryClient(f"127.0.0.1:{port}") as registry, pytest.raises(Unavailable) as caught:
        registry.ping()
    assert str(caught.value) == (f"cannot reach registry 127.0.0.1:{port} at http://127.0.0.1:"
                                 f"{port}: connection refused — is it running?")


def test_only_http_and_https() -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        httpx.Client(transport=StdlibTransport()).get("ftp://127.0.0.1/")


def test_plain_http_builds_no_tls_context(client: httpx.Client,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    def no(*args: object) -> None:
        raise AssertionError("a TLS context for plain http")
    monkeypatch.setattr(transport_module, "tls_context", no)
    assert client.get("/blob").content == BIG


def test_a_registry_client_does_not_import_httpcore() -> None:
    code = ("import sys; from minidock_magic.remotes.client import RegistryClient\n"
            "RegistryClient('127.0.0.1:5000').close(); RegistryClient('ghcr.io').close()\n"
            "print(sorted({'httpcore', 'anyio', 'h11'} & set(sys.modules)))")
    assert run(sys.executable, "-c", code).stdout.strip() == "[]"


# -- real registries -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA), and its key."""
    root = tmp_path_factory.mktemp("tls")
    cert, key = root / "cert.pem", root / "key.pem"
    run(need("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1")
    return cert, key


@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory: pytest.TempPathFactory,
                 certificate: tuple[Path, Path]) -> Iterator[DockerRegistry]:
    """docker-registry serving https (the extra text goes under its ``http:`` section)."""
    cert, key = certificate
    server = DockerRegistry(tmp_path_factory.mktemp("docker-registry-tls"),
                            f"  tls:\n    certificate: {cert}\n    key: {key}\n")
    yield server
    server.stop()


@pytest.fixture
def ours(tmp_path: Path) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path / "ours") as running:
        yield running


class Target(NamedTuple):
    name: str
    host: str
    insecure: bool  # plain http


@pytest.fixture(params=["ours", "docker-registry", "docker-registry-tls"])
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Target:
    """A running registry; the https one trusted through ``SSL_CERT_FILE``, as httpx does."""
    if request.param == "ours":
        return Target(request.param, request.getfixturevalue("ours").address, True)
    if request.param == "docker-registry":
        return Target(request.param, request.getfixturevalue("registry").address, True)
    cert, _ = request.getfixturevalue("certificate")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return Target(request.param, request.getfixturevalue("tls_registry").address, False)


def test_a_large_blob_goes_up_and_down_verified_on_one_connection(target: Target,
                                                                   tmp_path: Path) -> None:
    data = os.urandom(20 * PIECE + 7)  # above monolithic_max: one streamed PATCH, then a PUT
    descriptor = Descriptor(LAYER, Digest.of(data), len(data))
    transport = Counting()
    with RegistryClient(target.host, insecure=target.insecure, transport=transport) as client:
        client.ping()
        client.push_blob("test/big", descriptor, io.BytesIO(data))
        assert client.has_blob("test/big", descriptor.digest)
        store = ContentStore(tmp_path / "store")
        got: list[int] = []
        info = client.get_blob("test/big", descriptor, store.writer(descriptor.digest, len(data)),
                               got.append)
    assert info.digest == descriptor.digest
    assert store.path(descriptor.digest).read_bytes() == data
    assert sum(got) == len(data) and max(got) <= PIECE
    assert transport.connects == 1


def test_a_chunked_upload_and_a_chunked_answer(target: Target) -> None:
    data = os.urandom(3 * PIECE + 11)
    digest = Digest.of(data)
    with RegistryClient(target.host, insecure=target.insecure) as client:
        http = client._http  # the very client, transport and auth our RegistryClient uses
        started = http.post("/v2/test/chunked/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.request.url.join(started.headers["location"])
        pieces = (data[i:i + 300_001] for i in range(0, len(data), 300_001))
        patched = http.patch(location, content=pieces)  # no length given: chunked
        assert patched.status_code == 202, patched.text
        location = patched.request.url.join(patched.headers["location"])
        done = http.put(location.copy_merge_params({"digest": str(digest)}))  # keeps _state
        assert done.status_code == 201, done.text
        assert http.get(f"/v2/test/chunked/blobs/{digest}").content == data
        # A tag list longer than Go's 2 KiB response buffer comes back chunked.
        image = make_image()
        for blob in (image.layer, image.config):
            client.push_blob("test/chunked", Descriptor(LAYER, Digest.of(blob), len(blob)),
                             io.BytesIO(blob))
        names = [f"tag-{i:03d}-{'x' * 20}" for i in range(120)]
        for name in names:
            client.put_manifest("test/chunked", name, image.manifest,
                                "application/vnd.oci.image.manifest.v1+json")
        listing = http.get("/v2/test/chunked/tags/list")
        assert sorted(client.tags("test/chunked")) == names
    if target.name.startswith("docker-registry"):
        assert listing.headers["transfer-encoding"] == "chunked"


def test_an_idle_connection_our_registry_closed_is_replaced(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry_server.SERVER_SETTINGS, "timeout_keep_alive", 0.2)
    transport = Counting()
    with RegistryServer(tmp_path / "reg") as running, \
            RegistryClient(running.address, transport=transport) as client:
        client.ping()
        time.sleep(1.0)  # uvicorn closes the kept-alive connection after 0.2 s idle
        assert client.mount_blob("test/a", Digest.of(b"nothing"), "test/b") is False  # a POST
        posts = [r for r in running.request_log if r.method == "POST"]
    assert transport.connects == 2 and len(posts) == 1


def test_tls_checks_the_certificate(tls_registry: DockerRegistry,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # Not in certifi's bundle: one line that says what to do.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with RegistryClient(tls_registry.address, insecure=False) as client, \
            pytest.raises(Unavailable, match=r"^cannot talk TLS to registry .*CERTIFICATE_VERIFY_FAILED"):
        client.ping()


def test_a_tls_context_can_be_given(tls_registry: DockerRegistry,
                                    certificate: tuple[Path, Path]) -> None:
    context = ssl.create_default_context(cafile=str(certificate[0]))
    with httpx.Client(transport=StdlibTransport(ssl_context=context)) as http:
        response = http.get(f"https://{tls_registry.address}/v2/")
    assert response.status_code == 200
    assert response.extensions["http_version"] == b"HTTP/1.1"
