"""Running the engine as an unprivileged host user, from a test that runs as root.

Root's home (and the pyenv Python in it) is closed to other users, so such a user gets a venv of
Debian's /usr/bin/python3 outside it, a world-readable copy of the package and of the libseccomp
binding (a single pure-Python module), and runs a script.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import minidock_magic

SYSTEM_PYTHON = "/usr/bin/python3"


@contextlib.contextmanager
def unprivileged_user(name: str) -> Iterator[pwd.struct_passwd]:
    """A regular user (``useradd`` gives it /etc/subuid and /etc/subgid ranges), removed after
    if this made it."""
    created = False
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True)
        entry, created = pwd.getpwnam(name), True
    try:
        yield entry
    finally:
        if created:
            subprocess.run(["userdel", name], check=False)


def chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def install_engine(base: Path) -> Path:
    """The package and its seccomp binding under ``base / "src"`` (the PYTHONPATH to give) and
    a venv of the system Python in ``base / "venv"``; returns that venv's python."""
    src = base / "src"
    shutil.copytree(Path(minidock_magic.__file__).parent, src / "minidock_magic",
                    ignore=shutil.ignore_patterns("__pycache__"))
    binding = importlib.util.find_spec("pyseccomp")
    if binding is not None and binding.origin:
        shutil.copy2(binding.origin, src / "pyseccomp.py")
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", "--without-pip",
                    str(base / "venv")], check=True)
    return base / "venv" / "bin" / "python"
