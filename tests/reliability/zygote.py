"""A pre-loaded process that forks the CLI (or a registry server) on request, so that a crash
trial costs a fork, not a Python start-up: ``kill -9`` then lands while the command works, not
while it imports.

Protocol: one JSON object per line on stdin, one answer per line on stdout.

- ``{"run": [argv…], "out": PATH, "env": {…}}`` → ``{"pid": N}``: a child runs
  ``minidock_magic.cli.main(argv)`` with stdout+stderr to PATH and exits with its status;
- ``{"serve": ["127.0.0.1:PORT", DATA_DIR], "out": PATH}`` → ``{"pid": N}``: a child runs
  ``minidock registry serve`` (``minidock_magic.registry.serve``) until killed;
- ``{"wait": N}`` → ``{"pid": N, "status": S}``: reaps the child; S is its exit status, or
  ``-signal`` if a signal ended it.

The zygote itself is single-threaded, so forking it is safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Self


def _child(request: dict[str, Any]) -> int:
    out = os.open(str(request["out"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(null)
    os.close(out)
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 (the child's whole life)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    os.environ.update({str(k): str(v) for k, v in dict(request.get("env") or {}).items()})
    if "serve" in request:
        from minidock_magic.registry import serve
        address, data_dir = request["serve"]
        serve(address, data_dir)
        return 0
    from minidock_magic.cli import main
    return main([str(a) for a in request["run"]])


class Zygote:
    """The test side: start the zygote, ask it for children, reap them."""

    def __init__(self, log: Path) -> None:
        self.log = log
        # DOCKER_CONFIG: never the logins of whoever runs the tests
        self.process = subprocess.Popen([sys.executable, __file__],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
                                             "DOCKER_CONFIG": str(log.parent / "docker-config")})
        assert "ready" in self._answer()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the zygote died"
        return json.loads(line)  # type: ignore[no-any-return]

    def start_logged(self, out: Path, *argv: str, env: dict[str, str] | None = None) -> int:
        """Start the CLI with its output to its own file ``out``."""
        return int(self._ask({"run": list(argv), "out": str(out), "env": env or {}})["pid"])

    def start(self, *argv: str, env: dict[str, str] | None = None) -> int:
        return int(self._ask({"run": list(argv), "out": str(self.log), "env": env or {}})["pid"])

    def serve(self, address: str, data_dir: Path) -> int:
        return int(self._ask({"serve": [address, str(data_dir)], "out": str(self.log)})["pid"])

    def wait(self, pid: int) -> int:
        return int(self._ask({"wait": pid})["status"])

    def run(self, *argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        """Run to the end; (status, what it printed)."""
        start = self.log.stat().st_size if self.log.exists() else 0
        status = self.wait(self.start(*argv, env=env))
        with open(self.log, "rb") as log:
            log.seek(start)
            return status, log.read().decode(errors="replace")

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()



def check_clean(zygote: Zygote, home: Path) -> None:
    """``minidock system check``: nothing corrupt, missing or unreadable (dangling is fine)."""
    status, output = zygote.run("--home", str(home), "system", "check")
    assert status == 0 and output.rstrip().endswith("OK"), output
    assert "corrupt" not in output and "missing" not in output, output


def registry_intact(data_dir: Path) -> None:
    """Every blob the registry stores holds the bytes its name promises; every manifest revision
    and tag points at a blob that is there."""
    for blob in (data_dir / "blobs").glob("*/*"):
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name, f"corrupt registry blob {blob}"
    # ".name.xyz.tmp": an atomic write the kill cut short, never renamed into place; the registry
    # reads no dotted name as a revision or tag (garbage-collect sweeps them).
    for revision in (data_dir / "repositories").glob("**/_manifests/revisions/*/[!.]*"):
        assert (data_dir / "blobs" / revision.parent.name / revision.name).is_file(), f"dangling {revision}"
    for tag in (data_dir / "repositories").glob("**/_manifests/tags/[!.]*"):
        algorithm, _, encoded = tag.read_text().partition(":")
        assert (data_dir / "blobs" / algorithm / encoded).is_file(), f"tag {tag} points at nothing"


def main() -> None:
    # Everything the children will need, loaded once, here.
    import httpx  # noqa: F401
    import uvicorn  # noqa: F401

    import minidock_magic.cli
    import minidock_magic.containers.service
    import minidock_magic.facade
    import minidock_magic.registry
    import minidock_magic.remotes.pull
    import minidock_magic.remotes.push
    import minidock_magic.snapshots.unpack  # noqa: F401

    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if "wait" in request:
            pid, status = os.waitpid(int(request["wait"]), 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(json.dumps({"pid": pid, "status": code}), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(request)
            except BaseException:  # noqa: BLE001 (report and leave, whatever it was)
                import traceback
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code if isinstance(code, int) else 1)
        print(json.dumps({"pid": pid}), flush=True)


if __name__ == "__main__":
    main()
