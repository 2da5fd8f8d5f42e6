"""A tiny Docker token server for docker-registry's ``auth.token`` mode, made for the tests.

It signs RS256 JWTs with ``x5c`` (a self-signed certificate the registry trusts as its
``rootcertbundle``), using the ``openssl`` command line so the tests need no crypto library.
Anonymous callers get ``pull`` on ``pub/…`` only; the one user gets everything they ask for.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from tests.conftest import need, run

ISSUER, SERVICE = "minidock-test-issuer", "minidock-test-registry"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    def __init__(self, root: Path, user: str, password: str) -> None:
        self.key, self.cert = root / "token.key", root / "token.pem"
        run(need("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
            "-out", self.cert, "-days", "2", "-subj", "/CN=minidock-test-token")
        der = subprocess.run([need("openssl"), "x509", "-in", str(self.cert), "-outform", "DER"],
                             capture_output=True, check=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.user, self.password = user, password
        self.issued: list[str] = []              # every token handed out (never to be traced)
        self.requests: list[tuple[str | None, list[str]]] = []  # (user, scopes asked)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.answer(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.httpd.server_address[1]}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def registry_auth(self) -> str:
        return (f"auth:\n  token:\n    realm: {self.realm}\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {self.cert}\n")

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        query = parse_qs(urlparse(request.path).query)
        user = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            given = base64.b64decode(header[6:]).decode()
            if given != f"{self.user}:{self.password}":
                return self._send(request, 401, {"details": "incorrect username or password"})
            user = self.user
        scopes = query.get("scope", [])
        self.requests.append((user, scopes))
        access = []
        for scope in " ".join(scopes).split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            wanted = set(actions.split(","))
            granted = wanted if user else wanted & ({"pull"} if name.startswith("pub/") else set())
            if granted:
                access.append({"type": kind, "name": name, "actions": sorted(granted)})
        token = self.sign({"iss": ISSUER, "sub": user or "", "aud": SERVICE, "iat": int(time.time()),
                           "nbf": int(time.time()) - 10, "exp": int(time.time()) + 300,
                           "jti": secrets.token_hex(8), "access": access})
        self.issued.append(token)
        self._send(request, 200, {"token": token, "expires_in": 300})

    def sign(self, claims: dict[str, object]) -> str:
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = subprocess.run([need("openssl"), "dgst", "-sha256", "-sign", str(self.key)],
                                   input=signing_input.encode(), capture_output=True, check=True).stdout
        return f"{signing_input}.{_b64(signature)}"

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
