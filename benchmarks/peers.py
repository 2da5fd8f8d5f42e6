"""The peers, driven as CONTRIBUTING.md says they work on these hosts; and our registry as a process.

podman gets a private store (``--root``/``--runroot``, the runroot under 50 characters), runc and
cgroupfs (crun fails on hybrid cgroups) and a file events backend. This host's containers lack
CAP_SYS_RESOURCE, and podman asks runc to raise RLIMIT_NOFILE/NPROC above what it may, so each
``podman run`` gets ``--ulimit`` values it can actually set (the limits it runs under anyway).
"""

from __future__ import annotations

import os
import resource
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Self

import minidock_magic
from tests.servers import docker_registry_config, stop_process

from .tools import free_port, http_ok, minidock_argv, need, run, run_timed, wait_until

#: The checkout whose ``minidock_magic`` this process imported: the code under test.
PACKAGE_PARENT = str(Path(minidock_magic.__file__).resolve().parents[1])
#: podman lowers its own RLIMIT_NPROC to this before starting conmon and runc.
PODMAN_NPROC = 32768


class Podman:
    def __init__(self, root: Path, runroot: Path, driver: str = "overlay") -> None:
        if len(str(runroot)) >= 50:
            raise ValueError(f"podman refuses a runroot of 50 characters or more: {runroot}")
        self.root, self.runroot, self.driver = root, runroot, driver

    def argv(self, *args: str) -> list[str]:
        return [need("podman"), "--root", str(self.root), "--runroot", str(self.runroot),
                "--storage-driver", self.driver, "--runtime", "runc", "--cgroup-manager",
                "cgroupfs", "--events-backend", "file", *args]

    def __call__(self, *args: str) -> str:
        return run(*self.argv(*args))

    def timed(self, *args: str, cwd: Path | None = None) -> float:
        return run_timed(*self.argv(*args), cwd=cwd)

    @staticmethod
    def ulimits() -> list[str]:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], PODMAN_NPROC)
        return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]

    def clear(self) -> None:
        """Remove this store's containers and images (not ``system reset``: that also drops the
        host's networks, which are not ours)."""
        for args in (("rm", "--all", "--force"), ("rmi", "--all", "--force")):
            subprocess.run(self.argv(*args), capture_output=True, check=False)


def skopeo(*args: str) -> list[str]:
    """skopeo with no policy.json needed; plain http to 127.0.0.1 is passed per command."""
    return [need("skopeo"), "--insecure-policy", *args]


class _Server:
    process: subprocess.Popen[bytes]
    address: str
    name: str
    #: The CA file that verifies this server's certificate; None: plain http.
    certificate: Path | None = None

    def _wait(self, log: Path) -> None:
        scheme = "http" if self.certificate is None else "https"
        try:
            wait_until(lambda: http_ok(f"{scheme}://{self.address}/v2/", self.certificate),
                       f"{self.name} on {self.address}", alive=lambda: self.process.poll() is None)
        except RuntimeError:
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{log.read_text()[-2000:]}") from None

    def stop(self) -> None:
        stop_process(self.process)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


class DockerRegistry(_Server):
    """CNCF distribution 2.8 (``docker-registry serve config.yml``), filesystem storage."""

    name = "docker-registry"

    def __init__(self, root: Path, *, tls: bool = False) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.address = f"127.0.0.1:{free_port()}"
        config = root / "config.yml"
        serve_tls = ""
        if tls:
            self.certificate, key = self_signed(root)
            serve_tls = f"  tls:\n    certificate: {self.certificate}\n    key: {key}\n"
        config.write_text(docker_registry_config(root / "storage", self.address, serve_tls))
        log = root / "registry.log"
        with open(log, "wb") as out:
            self.process = subprocess.Popen([need("docker-registry"), "serve", str(config)],
                                            stdout=out, stderr=subprocess.STDOUT)
        self._wait(log)


def self_signed(root: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA, and its key (as tests/remotes makes one)."""
    cert, key = root / "cert.pem", root / "key.pem"
    run(need("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1")
    return cert, key


class OurRegistry(_Server):
    """``minidock registry serve`` in its own process, as a teacher would run it."""

    name = "minidock registry"

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.address = f"127.0.0.1:{free_port()}"
        log = root / "registry.log"
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [*self.command(), "registry", "serve", "--addr", self.address,
                 "--data", str(root / "data")],
                stdout=out, stderr=subprocess.STDOUT, env=client_env(root))
        self._wait(log)

    def command(self) -> list[str]:
        """What runs ``minidock`` (benchmarks.server_stack swaps in variants of the server)."""
        return minidock_argv()


def client_env(scratch: Path) -> dict[str, str]:
    """Our CLI's environment: nobody's docker logins, no insecure-registry list of the caller,
    and this very checkout's package first on the path (an editable install elsewhere would
    otherwise decide which code the ``minidock`` script runs)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    env["DOCKER_CONFIG"] = str(scratch / "docker-config")
    env.pop("MINIDOCK_INSECURE_REGISTRIES", None)
    env.pop("MINIDOCK_HOME", None)
    return env
