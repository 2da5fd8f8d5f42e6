"""A real JupyterHub on 127.0.0.1 for the classroom test: its proxy (configurable-http-proxy), the
LocalProcessSpawner and real system users, DummyAuthenticator, and the class registry as a
hub-managed service (``minidock registry serve --auth jupyterhub``)."""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

import minidock_magic

SYSTEM_PYTHON = "/usr/bin/python3"
PASSWORD = "class-password-7"
TEACHER = "teacher"
REPO_ROOT = Path(minidock_magic.__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def student_python(base: Path) -> Path:
    """A venv of Debian's Python, world-readable, outside root's home (closed to others), with
    the kit (``[notebook]``, not editable: the students cannot read this worktree) and
    jupyterhub-singleuser. ``$MINIDOCK_HUB_VENV`` names one built before, to save minutes."""
    prebuilt = os.environ.get("MINIDOCK_HUB_VENV")
    if prebuilt:
        return Path(prebuilt)
    venv, src = base / "venv", base / "src"
    shutil.copytree(REPO_ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "__pycache__", "*.egg-info", "notebooks", "benchmarks", "tests", "build"))
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"{src}[notebook]", "jupyterhub"],
                   check=True)
    return venv


def make_user(name: str, *, subordinate_ids: bool) -> pwd.struct_passwd:
    """A real user with a home of its own (0700, as a careful hub admin makes them), with or
    without a /etc/subuid range."""
    options = ["-K", "HOME_MODE=0700"]
    if not subordinate_ids:
        options += ["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", *options, name], check=True)
    return pwd.getpwnam(name)


def processes_of(uid: int) -> list[int]:
    """The pids running as ``uid`` (a user this test made: all of them are this test's)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                pass
    return pids


def remove_user(name: str) -> None:
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        return
    for pid in processes_of(uid):  # a kernel's leftovers, if the hub left any: by pid, one by one
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)


CONFIG = """\
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = "{base}/proxy.pid"
c.JupyterHub.db_url = "sqlite:///{base}/hub.sqlite"
c.JupyterHub.cookie_secret_file = "{base}/cookie_secret"
c.JupyterHub.pid_file = "{base}/hub.pid"

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"{teacher}"}}

c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = ["{venv}/bin/jupyterhub-singleuser"]
c.Spawner.environment = {{"PATH": "{venv}/bin:/usr/bin:/bin",
                         # the one registry %dock login offers the hub token to
                         "MINIDOCK_CLASS_REGISTRY": "127.0.0.1:{registry_port}"}}
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300

c.JupyterHub.services = [
    {{"name": "registry", "url": "http://127.0.0.1:{registry_port}",
      "command": ["{minidock}", "registry", "serve", "--auth", "jupyterhub", "--data", "{base}/registry"]}},
    {{"name": "class-test", "api_token": "{admin_token}"}},
]
c.JupyterHub.load_roles = [
    # the registry asks the hub who is an admin (a teacher): GET /hub/api/users/NAME
    {{"name": "class-registry", "scopes": ["read:users"], "services": ["registry"]}},
    {{"name": "class-test", "scopes": ["admin:users", "admin:servers", "tokens", "read:users"],
      "services": ["class-test"]}},
]
"""


@dataclass
class Hub:
    base: Path
    venv: Path
    port: int = field(default_factory=free_port)
    registry_port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: secrets.token_hex(16))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    def start(self) -> Hub:
        minidock = Path(sys.executable).parent / "minidock"
        (self.base / "jupyterhub_config.py").write_text(CONFIG.format(
            port=self.port, hub_port=free_port(), proxy_api_port=free_port(), base=self.base,
            password=PASSWORD, teacher=TEACHER, venv=self.venv, registry_port=self.registry_port,
            minidock=minidock, admin_token=self.admin_token))
        env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": str(self.base),
               "LANG": "C.UTF-8"}
        log = open(self.base / "hub.log", "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", "jupyterhub_config.py"],
                                        cwd=self.base, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._wait(lambda: httpx.get(f"{self.url}/hub/api/", timeout=2).status_code == 200, "the hub")
        self._wait(lambda: httpx.get(f"http://{self.registry}/v2/", timeout=2).status_code == 401,
                   "the registry service")
        return self

    def _wait(self, ready: object, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():  # type: ignore[operator]
                    return
            except httpx.TransportError:
                pass
            if self.process is not None and self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{what} did not start:\n{self.log()[-4000:]}")
            time.sleep(0.2)

    def log(self) -> str:
        return (self.base / "hub.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()   # the hub stops the servers it spawned and its proxy
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    # -- the hub's API, as the test's admin service ------------------------------------------
    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/hub/api", timeout=120,
                            headers={"Authorization": f"token {self.admin_token}"})

    def token_for(self, user: str) -> str:
        with self.api() as api:
            answer = api.post(f"/users/{user}/tokens", json={"note": "class test", "expires_in": 3600})
            answer.raise_for_status()
            return str(answer.json()["token"])


def log_in(hub: Hub, user: str) -> str:
    """The student's way in: the hub's login form (DummyAuthenticator's shared password), then an
    API token made with the session's cookie, as the token page of the hub's UI does."""
    with httpx.Client(base_url=hub.url, timeout=120) as browser:
        page = browser.get("/hub/login")
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        assert xsrf, page.text[:500]
        answer = browser.post("/hub/login", data={"username": user, "password": PASSWORD, "_xsrf": xsrf[1]})
        assert answer.status_code == 302, answer.text[:500]
        token = browser.post(f"/hub/api/users/{user}/tokens", json={"note": "lesson 7", "expires_in": 3600},
                             headers={"X-XSRFToken": browser.cookies.get("_xsrf") or xsrf[1]})
        assert token.status_code == 201, token.text[:500]
        return str(token.json()["token"])


def start_server(hub: Hub, user: str, token: str, timeout: float = 300) -> str:
    """Spawn the student's single-user server (as that system user); its URL behind the proxy."""
    with httpx.Client(base_url=f"{hub.url}/hub/api", timeout=120,
                      headers={"Authorization": f"token {token}"}) as api:
        answer = api.post(f"/users/{user}/server")
        assert answer.status_code in (201, 202), answer.text
        deadline = time.monotonic() + timeout
        while not (api.get(f"/users/{user}").json().get("servers", {}).get("", {}).get("ready")):
            assert time.monotonic() < deadline, f"{user}'s server did not start:\n{hub.log()[-3000:]}"
            time.sleep(0.5)
    return f"{hub.url}/user/{user}"


@dataclass
class Classroom:
    hub: Hub
    students: list[str]
    without_subuids: str


def classroom(count: int) -> Iterator[Classroom]:
    base = Path(tempfile.mkdtemp(prefix="minidock-hub-"))
    base.chmod(0o755)
    prefix = f"mdc{os.getpid() % 100000}"
    students = [f"{prefix}s{i}" for i in range(count)]
    hub = None
    try:
        for i, name in enumerate(students):
            make_user(name, subordinate_ids=i != count - 1)
        hub = Hub(base, student_python(base)).start()
        yield Classroom(hub, students, students[-1])
    finally:
        if hub is not None:
            hub.stop()
        for name in students:
            remove_user(name)
        shutil.rmtree(base, ignore_errors=True)
