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
