"""Shared fixtures: a fresh engine home per test, and the real peers driven as CONTRIBUTING.md says."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.facade import Minidock


@pytest.fixture
def engine(tmp_path: Path) -> Minidock:
    return Minidock(tmp_path / "home")


@pytest.fixture(scope="session")
def busybox_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home with the bootstrapped busybox, copied by tests that only need to read it."""
    home = tmp_path_factory.mktemp("busybox-home")
    Minidock(home).bootstrap()
    return home


@pytest.fixture
def busybox_engine(tmp_path: Path, busybox_home: Path) -> Minidock:
    home = tmp_path / "home"
    shutil.copytree(busybox_home, home, symlinks=True)
    return Minidock(home)


def container_namespaces_or_skip(what: str = "this test") -> None:
    """Skip where containers get no namespaces (a pod that refuses user namespaces, as a user:
    the engine falls back to proot, which shares the host's processes, name and network).
    Only for tests whose subject is a namespace; the lessons show such hosts what they lack."""
    from minidock_magic.runtime import probe_host
    from minidock_magic.runtime.spec import Isolation
    if probe_host().default_isolation() in (None, Isolation.PROOT):
        pytest.skip(f"{what} needs container namespaces, and this host gives none (proot)")


@pytest.fixture
def needs_namespaces() -> None:
    container_namespaces_or_skip()


def need(tool: str) -> str:
    """The peer's path. CI installs every peer, so a missing one is a failure, not a skip."""
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed: .ci/run installs it (apt-get install)")
    return path


def run(*argv: str | os.PathLike[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result  # type: ignore[no-any-return]


class Podman:
    """podman/buildah with a private vfs store, runc and cgroupfs (this host has hybrid cgroups)."""

    def __init__(self, root: Path, runroot: Path) -> None:
        self.root, self.runroot = root / "root", runroot
        self.storage = f"containers-storage:[vfs@{self.root}+{self.runroot}]"

    def flags(self) -> list[str]:
        return ["--root", str(self.root), "--runroot", str(self.runroot), "--storage-driver", "vfs"]

    def podman(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(need("podman"), *self.flags(), "--runtime", "runc", "--cgroup-manager", "cgroupfs",
                   "--events-backend", "file", *args)

    def run_image(self, image: str, *command: str) -> subprocess.CompletedProcess[str]:
        """``podman run --rm``, no network. This sandbox caps rlimits below podman's defaults
        ("error setting rlimit type 7"); lower limits are always allowed."""
        return self.podman("run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                           "--ulimit", "nproc=1024:1024", image, *command)

    def buildah(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(need("buildah"), *self.flags(), *args)

    def mount(self, container: str) -> Path:
        """``buildah mount``: the working container's files, to change by hand."""
        if os.geteuid() != 0:  # a user's mount exists only inside `buildah unshare`, not here
            pytest.skip("buildah mount needs root (as a user it lives only inside `buildah unshare`)")
        return Path(self.buildah("mount", container).stdout.strip())


@pytest.fixture
def podman(tmp_path: Path) -> Iterator[Podman]:
    # podman refuses a runroot longer than 50 characters; pytest's tmp paths are longer.
    if os.geteuid() != 0:
        container_namespaces_or_skip("rootless podman")  # it lives in a user namespace
    runroot = Path(tempfile.mkdtemp(prefix="mdpod-", dir="/tmp"))
    yield Podman(tmp_path / "podman", runroot)
    shutil.rmtree(runroot, ignore_errors=True)


def tree_listing(root: Path) -> dict[str, tuple]:
    """path -> (type, mode, link target or contents): what "the same filesystem" means here.
    Owners as a container sees them: a student's own files are root's (``containers/owners.py``)."""
    from minidock_magic.containers.owners import container_owners
    owners = container_owners()
    listing: dict[str, tuple] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            uid, gid = owners.to_layer(st.st_uid, st.st_gid)
            if stat.S_ISLNK(st.st_mode):
                listing[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                listing[rel] = ("dir", oct(stat.S_IMODE(st.st_mode)), uid, gid)
            elif stat.S_ISREG(st.st_mode):
                listing[rel] = ("file", oct(stat.S_IMODE(st.st_mode)), uid, gid, path.read_bytes())
            else:
                listing[rel] = ("other", stat.S_IFMT(st.st_mode))
    return listing
