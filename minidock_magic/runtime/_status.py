"""The one-way status pipe from the helper to the engine: JSON lines, then EOF at ``execve``.

The pipe is close-on-exec in the container's process, so EOF means "the user's program is
running" (or everything died). Each message is far below ``PIPE_BUF`` and thus written
atomically, even when helper and container both write.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .. import errors


def send(fd: int, **message: Any) -> None:
    try:
        os.write(fd, (json.dumps(message) + "\n").encode())
    except OSError:
        pass  # the engine went away; nothing left to tell


def send_error(fd: int, exc: BaseException) -> None:
    if os.environ.get("MINIDOCK_DEBUG"):  # the one line hides where; this shows it
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, errors.MinidockError):
        send(fd, error=str(exc), kind=type(exc).__name__)
    elif isinstance(exc, OSError):
        send(fd, error=f"container setup failed: {exc.strerror or exc}", kind="MinidockError")
    else:
        send(fd, error=f"container setup failed: {type(exc).__name__}: {exc}",
             kind="MinidockError")


def read_all(fd: int) -> list[dict[str, Any]]:
    """Every message until EOF; blocks until the container has exec'd or failed."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return [json.loads(line) for line in b"".join(chunks).splitlines() if line.strip()]


def as_error(message: dict[str, Any]) -> errors.MinidockError:
    kind = getattr(errors, str(message.get("kind")), errors.MinidockError)
    if not (isinstance(kind, type) and issubclass(kind, errors.MinidockError)):
        kind = errors.MinidockError
    return kind(str(message["error"]))
