"""Servers the tests start on 127.0.0.1: a free port, and CNCF distribution (``docker-registry``).

One copy for every suite (remotes, registry interop, conformance, build, reliability) and for
``benchmarks/`` (which imports ``free_port`` and ``docker_registry_config`` without pytest): a
port is found by binding to port 0, and ``docker-registry`` missing is a failure, not a skip.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, ten seconds' grace, then SIGKILL; reaped either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def docker_registry_config(storage: Path, address: str, extra: str = "") -> str:
    """``config.yml`` for ``docker-registry serve``: filesystem storage with deletes enabled (the
    conformance suite deletes), quiet logs, listening on ``address``; ``extra`` is YAML appended
    after ``http.addr`` (an ``auth`` section, or http's indented ``tls`` lines)."""
    return (f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
            f"  delete:\n    enabled: true\n"
            f"http:\n  addr: {address}\n{extra}")


class DockerRegistry:
    """``docker-registry serve config.yml`` with filesystem storage and deletes enabled."""

    def __init__(self, root: Path, auth: str = "") -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.storage = root / "storage"
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        from tests.conftest import need  # here: benchmarks import this module without pytest

        (root / "config.yml").write_text(docker_registry_config(self.storage, self.address, auth))
        self.log = open(root / "registry.log", "wb")
        self.process = subprocess.Popen([need("docker-registry"), "serve", str(root / "config.yml")],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"http://{self.address}/v2/", timeout=1)
                break
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"docker-registry did not start:\n"
                                         f"{(root / 'registry.log').read_text()}") from None
                time.sleep(0.05)

    def blob_path(self, digest: object) -> Path:
        hexpart = str(digest).removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
