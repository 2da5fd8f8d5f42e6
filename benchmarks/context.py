"""What every benchmark shares: run count, sizes, a scratch workspace, and assets built once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import minidock_magic
from minidock_magic.facade import Minidock

from .images import FULL, QUICK, Sizes, build_big
from .peers import Podman
from .tools import fresh_dir, remove_tree

#: Kept between runs: with a cache prefix, Python looks for *all* bytecode (stdlib and
#: dependencies too) under it, so the first run fills it and later runs start warm.
PYCACHE = Path(tempfile.gettempdir()) / "minidock-bench-pycache"
#: Imported once up front so their bytecode is cached before anything is timed.
WARM_IMPORTS = ("minidock_magic.cli", "minidock_magic.facade", "minidock_magic.containers.service",
                "minidock_magic.snapshots.unpack", "minidock_magic.runtime._forkserver",
                "minidock_magic.runtime._probe", "minidock_magic.remotes.push",
                "minidock_magic.remotes.pull", "minidock_magic.registry.server", "httpx", "httpcore",
                "uvicorn", "starlette.applications")


def use_bytecode_cache(prefix: Path = PYCACHE) -> None:
    """Let every Python process here (ours, its runtime helpers, our registry) use compiled
    bytecode, as an installed package does. Some hosts set PYTHONDONTWRITEBYTECODE, which makes
    every start-up compile the package from source; the cache goes to ``prefix``, never into
    the source tree.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    package = Path(minidock_magic.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True,
                   stdout=subprocess.DEVNULL)
    code = f"import importlib\nfor name in {WARM_IMPORTS!r}:\n    importlib.import_module(name)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=package.parent,
                   stdout=subprocess.DEVNULL)


def no_bytecode_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` as this development environment runs Python: ``PYTHONDONTWRITEBYTECODE=1`` and no
    cache prefix, so the package (an editable install, no ``__pycache__`` in the tree) is compiled
    from source at every start; the standard library and dependencies keep their installed
    bytecode. ``bytecode_facts`` says whether the tree really has none."""
    cold = dict(env)
    cold["PYTHONDONTWRITEBYTECODE"] = "1"
    cold.pop("PYTHONPYCACHEPREFIX", None)
    return cold


def bytecode_facts() -> dict[str, str]:
    """What decides how fast our CLI starts: taken before ``use_bytecode_cache`` changes it."""
    package = Path(minidock_magic.__file__).parent
    in_tree = sum(1 for _ in package.rglob("__pycache__/*.pyc"))
    warm = sum(1 for _ in PYCACHE.rglob("*.pyc")) if PYCACHE.is_dir() else 0
    return {
        "PYTHONDONTWRITEBYTECODE in the caller's environment":
            os.environ.get("PYTHONDONTWRITEBYTECODE", "unset"),
        "bytecode, user rows": f"cache prefix {PYCACHE} ({warm} .pyc before this run; filled "
                               "before anything is timed), writing allowed",
        "bytecode, PYTHONDONTWRITEBYTECODE=1 rows": f"{in_tree} .pyc in the package's own "
                                                    "__pycache__ (0: compiled at every start)",
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Context:
    runs: int
    quick: bool
    workspace: Path
    sizes: Sizes
    _cache: dict[str, object] = field(default_factory=dict)

    @classmethod
    def create(cls, *, runs: int, quick: bool, workspace: Path | None = None) -> Context:
        # Short: podman's runroot lives under it and must stay under 50 characters.
        root = Path(tempfile.mkdtemp(prefix="mdb-", dir="/tmp")) if workspace is None \
            else fresh_dir(workspace)
        use_bytecode_cache()
        return cls(runs=runs, quick=quick, workspace=root, sizes=QUICK if quick else FULL)

    def dir(self, name: str) -> Path:
        """A fresh, empty directory in the workspace."""
        return fresh_dir(self.workspace / name)

    @property
    def busybox_home(self) -> Path:
        """A home with only the bootstrapped busybox, to copy for anything that needs a fresh one."""
        if "busybox" not in self._cache:
            home = self.dir("busybox-home")
            Minidock(home).bootstrap()
            self._cache["busybox"] = home
        return self._cache["busybox"]  # type: ignore[return-value]

    def copy_busybox_home(self, dest: Path) -> Path:
        if dest.exists():
            remove_tree(dest)
        shutil.copytree(self.busybox_home, dest, symlinks=True)
        return dest

    @property
    def big(self) -> Minidock:
        """The home with ``bench/big:1`` (about 130 MB unpacked at full size), built once."""
        if "big" not in self._cache:
            log(f"building the big image ({self.sizes.big_total / 1e6:.1f} MB in "
                f"{len(self.sizes.big_layers)} layers on busybox) …")
            self._cache["big"] = build_big(self.dir("big-home"), self.dir("big-scratch"), self.sizes)
        return self._cache["big"]  # type: ignore[return-value]

    @property
    def podman(self) -> Podman:
        """One podman store for the whole run, with our busybox loaded into it (``podman load``)."""
        if "podman" not in self._cache:
            podman = Podman(self.dir("podman"), self.dir("pr"))
            archive = self.workspace / "busybox.tar"
            with open(archive, "wb") as out:
                Minidock(self.busybox_home).save(["busybox"], out)
            podman("load", "-q", "-i", str(archive))
            self._cache["podman"] = podman
        return self._cache["podman"]  # type: ignore[return-value]

    def close(self) -> None:
        podman = self._cache.get("podman")
        if isinstance(podman, Podman):
            podman.clear()
        remove_tree(self.workspace)
