"""The per-container shim: owns a detached container so it outlives whoever started it.

``python -m minidock_magic.containers.shim HOME ID READY_FD``: start the container with output
to its log (and its published ports forwarded, ``containers.ports``), report readiness (or the
one-line error) on READY_FD, then wait, close the ports and record the exit.
It runs in its own session, with no terminal, so closing a notebook or a shell does not kill it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    home, container_id, ready_fd = Path(argv[0]), argv[1], int(argv[2])
    from ..errors import MinidockError
    from ..facade import Minidock

    engine = Minidock(home)
    config = engine.containers.store.config(container_id)
    lifecycle = engine.containers.lifecycle
    try:
        # Open until the container ends: the runtime pumps the container's pipes into it.
        log = engine.containers.store.open_log(container_id)
        try:
            process, forwarder = lifecycle.launch(config, isolation=config.isolation or None,
                                                  stdout=log.fileno(), stderr=log.fileno())
        except BaseException:
            log.close()
            raise
    except (MinidockError, OSError) as exc:
        _report(ready_fd, {"error": str(exc)})
        return 125
    _report(ready_fd, {"pid": process.pid})
    with log:
        code = process.wait()
    if forwarder is not None:  # the published ports close before the container is "exited"
        forwarder.stop()
    lifecycle.mark_exited(config, code)
    if config.auto_remove:
        engine.containers.remove(container_id, force=True)
    return 0


def _report(fd: int, message: dict[str, object]) -> None:
    with os.fdopen(fd, "wb") as ready:
        ready.write(json.dumps(message).encode())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
