"""Secrets: a registry password never shows — not in logs, ``--trace``, ``inspect``, ``%dock``
output, ``repr``/``str`` of objects, exception messages (wrong password, network failures), nor
in any file of the home but the one that stores logins (``config.json``, mode 0600).

A private ``RegistryServer`` (htpasswd, Bearer tokens) is logged into, pushed to and pulled from
through the Python API, the CLI (``minidock_magic.cli.main``) and ``%dock``
(``minidock_magic.magics.run_command``); a foreground ``minidock registry serve`` runs beside it
so that its access log is checked too. Everything captured is searched for the password in each
form it could take (plain, base64 of ``user:password``, JSON- and URL-escaped) and for Bearer
tokens (a JWT starts ``eyJ``).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from minidock_magic.cli import main as cli_main
from minidock_magic.containers.options import RunOptions
from minidock_magic.errors import MinidockError
from minidock_magic.facade import Minidock
from minidock_magic.magics import run_command
from minidock_magic.registry import RegistryServer, add_user
from minidock_magic.remotes.client import RegistryClient
from minidock_magic.remotes.credentials import Credential
from minidock_magic.remotes.session import credential_store
from tests.reliability.conftest import Tally, copy_home
from tests.servers import free_port

TALLY = Tally("secrets: scenarios")
OUTPUTS = Tally("secrets: captured outputs searched for the password")
USER = "student"
PASSWORD = "pa:ss@w%rd-\u00dcn\u00ef-42"
WRONG = "not-the-Pa55word-\u00e9"

pytestmark = pytest.mark.slow


def forms(user: str, password: str) -> list[str]:
    pair = f"{user}:{password}".encode()
    found = {password, json.dumps(password)[1:-1], json.dumps(password, ensure_ascii=False)[1:-1],
             quote(password), quote_plus(password), repr(password)[1:-1], password.encode().hex()}
    for data in (pair, password.encode()):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(data).decode()
            found |= {text, text.rstrip("=")}
    return sorted(found, key=len, reverse=True)


SECRETS = forms(USER, PASSWORD) + forms(USER, WRONG)
TOKEN_PREFIX = "eyJ"  # base64 of '{"': where every JWT starts


class Evidence:
    """Everything captured, by where it came from."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, where: str, value: object) -> None:
        self.items.append((where, value if isinstance(value, str) else repr(value)))

    def add_object(self, where: str, value: object) -> None:
        self.add(f"{where} repr", repr(value))
        self.add(f"{where} str", str(value))
        for method in ("_repr_html_", "_repr_svg_", "_repr_json_", "_repr_markdown_"):
            render = getattr(value, method, None)
            if callable(render):
                with contextlib.suppress(Exception):
                    self.add(f"{where} {method}", json.dumps(render(), default=repr))
        data = getattr(value, "data", None)
        if data is not None:
            self.add(f"{where} data", json.dumps(data, default=repr))

    def add_error(self, where: str, error: BaseException) -> None:
        self.add(f"{where} str", str(error))
        self.add(f"{where} repr", repr(error))
        self.add(f"{where} traceback", "".join(traceback.format_exception(error)))

    def leaks(self) -> list[str]:
        found = []
        for where, text in self.items:
            for secret in SECRETS:
                if secret in text:
                    found.append(f"{where}: contains {secret!r}")
            if TOKEN_PREFIX in text:
                found.append(f"{where}: contains a bearer token")
        return found

    def verdict(self, test: str) -> None:
        """Each captured output is a case: it held if the password (or a token) is not in it."""
        for position, (where, text) in enumerate(self.items):
            with contextlib.suppress(AssertionError), OUTPUTS.case(f"{test} #{position}: {where}"):
                assert not any(secret in text for secret in SECRETS) and TOKEN_PREFIX not in text
        assert not (leaks := self.leaks()), "\n".join(leaks)


@pytest.fixture(scope="module")
def htpasswd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secrets-auth") / "htpasswd"
    add_user(path, USER, PASSWORD, rounds=4)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, htpasswd: Path) -> Iterator[RegistryServer]:
    with RegistryServer(tmp_path_factory.mktemp("secrets-registry") / "data", auth_mode="private",
                        htpasswd=htpasswd) as running:
        yield running


@pytest.fixture(scope="module")
def foreground(tmp_path_factory: pytest.TempPathFactory, htpasswd: Path) -> Iterator[tuple[str, Path]]:
    """``minidock registry serve --auth private`` in the foreground, its output kept."""
    top = tmp_path_factory.mktemp("secrets-serve")
    port = free_port()
    log = top / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "minidock_magic.cli", "registry", "serve",
                                    "--addr", f"127.0.0.1:{port}", "--data", str(top / "data"),
                                    "--auth", "private", "--htpasswd", str(htpasswd)],
                                   stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
    yield f"127.0.0.1:{port}", log
    process.terminate()
    process.wait(10)


@pytest.fixture
def evidence(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Evidence:
    caplog.set_level(logging.DEBUG)  # httpx, httpcore, uvicorn, ours: everything
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    return Evidence()


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.args!r} {r.exc_text or ''}"
                     for r in caplog.records)


def dock(engine: Minidock, argv: list[str], evidence: Evidence, capsys: pytest.CaptureFixture[str],
         where: str) -> Any:
    result = run_command(engine, argv)
    out = capsys.readouterr()
    evidence.add(f"%dock {where} stdout", out.out)
    evidence.add(f"%dock {where} stderr", out.err)
    evidence.add_object(f"%dock {where} result", result)
    return result


def cli(argv: list[str], evidence: Evidence, capsys: pytest.CaptureFixture[str], where: str,
        stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if stdin is not None and monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli_main(argv)
    out = capsys.readouterr()
    evidence.add(f"cli {where} stdout", out.out)
    evidence.add(f"cli {where} stderr", out.err)
    return code


def home_files(home: Path, evidence: Evidence) -> None:
    for path in home.rglob("*"):
        # every file but the login store (and big layer blobs: image content, not engine output)
        if path.is_file() and not path.is_symlink() and path.name != "config.json" \
                and path.stat().st_size < 1 << 16:
            with contextlib.suppress(OSError):
                evidence.add(f"file {path.relative_to(home)}", path.read_bytes().decode("utf-8", "replace"))


def test_login_push_pull_through_every_frontend(server: RegistryServer, foreground: tuple[str, Path],
                                                busybox_home: Path, tmp_path: Path, evidence: Evidence,
                                                caplog: pytest.LogCaptureFixture,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with TALLY.case("login, push, pull, inspect: API, CLI, %dock, trace, logs, files"):
        engine = copy_home(busybox_home, tmp_path / "home")
        home = str(engine.home)
        for address in (server.address, foreground[0]):
            # the Python API, with a trace
            lines: list[str] = []
            evidence.add("api login", engine.login(address, USER, PASSWORD, trace=lines.append))
            engine.tag("busybox", f"{address}/{USER}/api:1")
            evidence.add("api push", engine.push(f"{address}/{USER}/api:1", trace=lines.append,
                                                 out=lines.append))
            evidence.add_object("api pulled", engine.pull(f"{address}/{USER}/api:1", trace=lines.append,
                                                          out=lines.append))
            evidence.add("api trace", "\n".join(lines))
            assert any("Authorization: Bearer ***" in line for line in lines), lines  # traced, redacted
            # the CLI, logged in with --password-stdin and -p
            assert cli(["--home", home, "login", "--trace", "-u", USER, "--password-stdin", address], evidence,
                       capsys, "login stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
            assert cli(["--home", home, "login", "--trace", "-u", USER, "-p", PASSWORD, address], evidence,
                       capsys, "login -p") == 0
            assert cli(["--home", home, "tag", "busybox", f"{address}/{USER}/cli:1"], evidence, capsys, "tag") == 0
            assert cli(["--home", home, "push", "--trace", f"{address}/{USER}/cli:1"], evidence, capsys,
                       "push") == 0
            assert cli(["--home", home, "pull", "--trace", f"{address}/{USER}/cli:1"], evidence, capsys,
                       "pull") == 0
            assert cli(["--home", home, "manifest", "inspect", "--trace", f"{address}/{USER}/cli:1"], evidence,
                       capsys, "manifest inspect") == 0
            # %dock
            for argv in (["login", "--trace", "-u", USER, "-p", PASSWORD, address],
                         ["push", "--trace", f"{address}/{USER}/cli:1"],
                         ["pull", "--trace", f"{address}/{USER}/cli:1"],
                         ["image", "inspect", f"{address}/{USER}/cli:1"],
                         ["history", f"{address}/{USER}/cli:1"],
                         ["manifest", "inspect", f"{address}/{USER}/cli:1"],
                         ["search", "--registry", address, USER],
                         ["images"], ["info"], ["system", "df"], ["system", "check"]):
                result = dock(engine, argv, evidence, capsys, " ".join(argv[:2]))
                assert type(result).__name__ != "ErrorLine", (argv, repr(result))
        # a container and its inspect output (the environment passes through containers)
        container, code = engine.containers.run(f"{server.address}/{USER}/cli:1",
                                                RunOptions(command=["sh", "-c", "env; cat /etc/hosts"]),
                                                stdout=io.BytesIO(), stderr=io.BytesIO())
        assert code == 0
        dock(engine, ["inspect", container.id], evidence, capsys, "inspect container")
        dock(engine, ["logs", container.id], evidence, capsys, "logs")
        # the objects that hold or handle the login
        store = credential_store(engine)
        credential = store.get(server.address)
        assert credential is not None and credential.password == PASSWORD
        with RegistryClient(server.address, credentials=credential) as client:
            for name, value in [("credential", credential), ("credential store", store), ("client", client),
                                ("client auth", client.auth), ("engine", engine), ("server", server),
                                ("server auth", server.auth), ("request log", server.request_log)]:
                evidence.add_object(name, value)
        config = engine.home / "config.json"
        assert oct(config.stat().st_mode & 0o777) == "0o600"
        assert base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() in config.read_text()  # stored there only
        home_files(engine.home, evidence)
        evidence.add("logs", logged(caplog))
        evidence.add("registry serve output", foreground[1].read_text(errors="replace"))
        assert "GET /v2/" in foreground[1].read_text(errors="replace")  # the access log did log
        for name in ("logout",):
            dock(engine, [name, server.address], evidence, capsys, name)
        assert credential_store(engine).get(server.address) is None
        evidence.verdict("frontends")


def test_failures_do_not_repeat_the_password(server: RegistryServer, busybox_home: Path, tmp_path: Path,
                                             evidence: Evidence, caplog: pytest.LogCaptureFixture,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with TALLY.case("wrong passwords, refused pushes, network failures"):
        engine = copy_home(busybox_home, tmp_path / "home")
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{closed.getsockname()[1]}"
        closed.close()
        hangup = hang_up_server()
        attempts: list[tuple[str, Callable[[], object]]] = [
            ("login wrong password", lambda: engine.login(server.address, USER, WRONG)),
            ("login nobody listening", lambda: engine.login(dead, USER, PASSWORD)),
            ("login hang-up", lambda: engine.login(hangup, USER, PASSWORD)),
            ("login wrong user", lambda: engine.login(server.address, "nobody", PASSWORD)),
        ]
        for where, attempt in attempts:
            with pytest.raises(MinidockError) as caught:
                attempt()
            evidence.add_error(where, caught.value)
        for argv in (["login", "--trace", "-u", USER, "-p", WRONG, server.address],
                     ["login", "--trace", "-u", USER, "-p", PASSWORD, dead],
                     ["login", "--trace", "-u", USER, "-p", PASSWORD, hangup]):
            result = dock(engine, argv, evidence, capsys, "failing " + argv[-1])
            assert type(result).__name__ == "ErrorLine", repr(result)
        assert credential_store(engine).get(server.address) is None  # nothing stored for a refused login
        # a stored login the registry no longer takes: push and pull fail, naming the user only
        store = credential_store(engine)
        for host in (server.address, dead, hangup):
            store.store(host, Credential(USER, WRONG))
        engine.tag("busybox", f"{server.address}/{USER}/refused:1")
        for where, command, name in [("push refused", engine.push, f"{server.address}/{USER}/refused:1"),
                                     ("pull refused", engine.pull, f"{server.address}/{USER}/refused:1"),
                                     ("pull nobody listening", engine.pull, f"{dead}/{USER}/x:1"),
                                     ("pull hang-up", engine.pull, f"{hangup}/{USER}/x:1")]:
            lines: list[str] = []
            with pytest.raises(MinidockError) as caught:
                command(name, trace=lines.append)  # type: ignore[operator]
            evidence.add_error(where, caught.value)
            evidence.add(f"{where} trace", "\n".join(lines))
        for argv in (["push", "--trace", f"{server.address}/{USER}/refused:1"],
                     ["pull", "--trace", f"{server.address}/{USER}/refused:1"]):
            dock(engine, argv, evidence, capsys, "refused " + argv[0])
            assert cli(["--home", str(engine.home), *argv], evidence, capsys, "refused " + argv[0]) == 1
        home_files(engine.home, evidence)
        evidence.add("logs", logged(caplog))
        evidence.verdict("failures")


def hang_up_server() -> str:
    """A 'registry' that accepts connections and closes them at once, for the lifetime of the test run."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with contextlib.suppress(OSError):
                connection.recv(1024)
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return f"127.0.0.1:{listener.getsockname()[1]}"


def test_the_evidence_would_show_a_leak() -> None:
    """Control: the search finds the password in each form it looks for."""
    for secret in forms(USER, PASSWORD):
        evidence = Evidence()
        evidence.add("control", f"x {secret} y")
        assert evidence.leaks()
    evidence = Evidence()
    evidence.add("control", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x")
    assert evidence.leaks()


def test_secrets_suite_size() -> None:
    assert len(SECRETS) >= 10
