"""HTTP/1.1 by hand, for requests no well-behaved client library would send (NUL bytes, dot
segments, lying lengths, half bodies)."""

from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int  # 0: the server closed the connection without answering
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def code(self) -> str | None:
        """The distribution-spec error code of the body, if it has one."""
        try:
            return json.loads(self.body)["errors"][0]["code"]  # type: ignore[no-any-return]
        except (ValueError, KeyError, IndexError, TypeError):
            return None


def request(address: tuple[str, int], method: str, target: bytes | str, *,
            headers: list[tuple[str, str]] | None = None, body: bytes = b"",
            raw_headers: bytes = b"", content_length: bool = True, host: bytes | None = None,
            timeout: float = 20.0) -> Answer:
    """One request on its own connection; ``target`` (and ``host``) are sent exactly as given."""
    line = target if isinstance(target, bytes) else target.encode("latin-1")
    host = host if host is not None else f"{address[0]}:{address[1]}".encode()
    head = [method.encode() + b" " + line + b" HTTP/1.1", b"Host: " + host, b"Connection: close"]
    for name, value in headers or []:
        head.append(f"{name}: {value}".encode("latin-1"))
    if content_length and body and not any(n.lower() == "content-length" for n, _ in headers or []):
        head.append(f"Content-Length: {len(body)}".encode())
    data = b"\r\n".join(head) + b"\r\n" + raw_headers + b"\r\n"
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(data)
        # A server may answer (413, say) before it has read a large body: stop sending then, or
        # the unread bytes turn its close into a reset that loses the answer.
        for start in range(0, len(body), 64 << 10):
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(body[start:start + (64 << 10)])
            except (BrokenPipeError, ConnectionResetError):
                break
        return read_answer(sock, head_only=method == "HEAD")


def read_answer(sock: socket.socket, *, head_only: bool = False) -> Answer:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return Answer(0) if not buffer else _parse(buffer, b"")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    answer = _parse(head, b"")
    length = int(answer.headers.get("content-length", "0") or 0)
    if head_only:
        return answer
    deadline = time.monotonic() + 20
    while len(rest) < length and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    answer.body = rest[:length] if length else rest
    return answer


def _parse(head: bytes, body: bytes) -> Answer:
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(status, headers, body)
