"""Shared by the registry tests: a request sent as raw bytes, past any HTTP client's checks."""

from __future__ import annotations

import socket

from minidock_magic.registry import RegistryServer


def raw_request(server: RegistryServer, request: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
