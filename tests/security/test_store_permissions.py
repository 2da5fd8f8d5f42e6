"""Two students on one machine: what user A's engine keeps, user B cannot read.

As root, this makes two real unprivileged users. A runs the engine with its default home (under
its ``$HOME``, itself world-readable as Debian makes homes): bootstraps busybox, runs a container
with ``-e API_TOKEN=…`` that prints it, serves a registry and pushes busybox to it. Then B tries
to list and read A's home, the container's ``config.json`` and log, a blob, the registry's data
directory, A's saved registry login and an htpasswd file; every attempt must be refused by the kernel (EACCES), and the modes are 0700
directories and 0600 (0400 for read-only blobs) files.

The users run Debian's /usr/bin/python3 (root's home, where the test's interpreter may live, is
closed to them) with a world-readable copy of the package and of the libraries it imports.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import minidock_magic
from tests.reliability.conftest import Tally

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TALLY = Tally("security: private stores")
USERS = ("minidock-store-a", "minidock-store-b")
SYSTEM_PYTHON = "/usr/bin/python3"
#: What the engine imports (the registry's server extras too), copied for the users' Python.
LIBRARIES = ("anyio", "bcrypt", "certifi", "click", "h11", "httpcore", "httptools", "httpx", "idna",
             "platformdirs", "pyseccomp", "starlette", "tqdm", "typing_extensions", "uvicorn", "uvloop")

OWNER_SCRIPT = r'''
import io, json, os, sys
from pathlib import Path
from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock
from minidock_magic.registry import RegistryServer, add_user
from minidock_magic.remotes.credentials import Credential
from minidock_magic.remotes.session import credential_store

token, data = sys.argv[1], Path(sys.argv[2])
engine = Minidock()  # the default home, under $HOME
engine.bootstrap()
out = io.BytesIO()
config, code = engine.containers.run(
    "busybox", RunOptions(command=["sh", "-c", "echo token=$API_TOKEN"], env=[f"API_TOKEN={token}"]),
    stdout=out, stderr=out)
with RegistryServer(data) as server:
    engine.tag("busybox", f"{server.address}/a/busybox:1")
    engine.push(f"{server.address}/a/busybox:1")
credential_store(engine).store("registry.example:5000", Credential("a", token))  # as `login` does
add_user(data / "htpasswd", "a", token)
container_dir = engine.containers.store.root / config.id
blob = next(iter(engine.content.walk())).digest
print(json.dumps({
    "code": code, "output": out.getvalue().decode(), "home": str(engine.home),
    "config": str(container_dir / "config.json"), "log": str(engine.containers.store.log_path(config.id)),
    "blob": str(engine.content.path(blob)), "registry": str(data),
    "registry_blob": str(next(p for p in (data / "blobs").rglob("*") if p.is_file())),
    "credentials": str(credential_store(engine).path), "htpasswd": str(data / "htpasswd"),
}))
'''

INTRUDER_SCRIPT = r'''
import json, os, sys
found = {}
for what, path in json.loads(sys.argv[1]).items():
    try:
        if os.path.isdir(path):
            found[what] = "listed: " + " ".join(sorted(os.listdir(path)))
        else:
            with open(path, "rb") as file:
                found[what] = "read: " + file.read(200).decode(errors="replace")
    except PermissionError:
        found[what] = "denied"
    except OSError as error:
        found[what] = f"error: {error}"
print(json.dumps(found))
'''


def _user(name: str, made: list[str]) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name], check=True)
        made.append(name)
        return pwd.getpwnam(name)


@pytest.fixture(scope="module")
def two_users() -> Iterator[tuple[pwd.struct_passwd, pwd.struct_passwd]]:
    if os.geteuid() != 0:
        pytest.skip("making two users needs root (CI runs this suite as root)")
    made: list[str] = []
    try:
        yield _user(USERS[0], made), _user(USERS[1], made)
    finally:
        for name in made:
            subprocess.run(["userdel", name], check=False)


def _copy_module(name: str, dest: Path) -> None:
    module = __import__(name)
    source = Path(module.__file__)  # type: ignore[arg-type]
    if source.name == "__init__.py":
        shutil.copytree(source.parent, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy2(source, dest / source.name)


@pytest.fixture(scope="module")
def shared_python(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A world-readable directory with a venv of Debian's Python and ``src/`` to import from."""
    base = Path(tempfile.mkdtemp(prefix="minidock-store-"))
    try:
        base.chmod(0o755)
        src = base / "src"
        shutil.copytree(Path(minidock_magic.__file__).parent, src / "minidock_magic",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for name in LIBRARIES:
            _copy_module(name, src)
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(base / "venv")], check=True)
        for path in [base, *base.rglob("*")]:
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode):
                path.chmod(stat.S_IMODE(mode) | 0o044 | (0o011 if mode & 0o100 or stat.S_ISDIR(mode) else 0))
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _as(user: pwd.struct_passwd, base: Path, home: Path, script: str, *args: str) -> dict[str, str]:
    done = subprocess.run(
        [str(base / "venv" / "bin" / "python"), "-c", script, *args],
        user=user.pw_uid, group=user.pw_gid, extra_groups=[], cwd=home, capture_output=True, text=True,
        env={"HOME": str(home), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONPATH": str(base / "src"),
             "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_another_user_reads_nothing_of_a_store(two_users: tuple[pwd.struct_passwd, pwd.struct_passwd],
                                               shared_python: Path) -> None:
    owner, intruder = two_users
    homes = shared_python / "homes"
    homes.mkdir(mode=0o755)
    home_a, home_b = homes / "a", homes / "b"
    for home, user in ((home_a, owner), (home_b, intruder)):
        home.mkdir(mode=0o755)  # a world-readable $HOME: only the engine's own modes protect it
        os.chown(home, user.pw_uid, user.pw_gid)
    token = f"API-TOKEN-{os.urandom(8).hex()}"
    made = _as(owner, shared_python, home_a, OWNER_SCRIPT, token, str(home_a / "registry-data"))
    assert made["code"] == 0 and made["output"] == f"token={token}\n", made
    targets = {k: made[k] for k in ("home", "config", "log", "blob", "registry", "registry_blob",
                                    "credentials", "htpasswd")}

    found = _as(intruder, shared_python, home_b, INTRUDER_SCRIPT, json.dumps(targets))
    leaks = []
    for what, outcome in sorted(found.items()):
        try:
            with TALLY.case(f"user B reads user A's {what}"):
                assert outcome == "denied"
        except AssertionError:
            leaks.append(f"{what}: {outcome[:120]}")
    assert not leaks, leaks
    assert token not in json.dumps(found)
    with TALLY.case("store modes: 0700 directories, 0600/0400 files, made so"):
        modes = {k: oct(stat.S_IMODE(os.lstat(p).st_mode)) for k, p in targets.items()}
        assert modes == {"home": "0o700", "config": "0o600", "log": "0o600", "blob": "0o400",
                         "registry": "0o700", "registry_blob": "0o600", "credentials": "0o600",
                         "htpasswd": "0o600"}, modes
