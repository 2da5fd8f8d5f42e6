"""Processes, ports, a scratch workspace that cleans up after itself, and facts about the machine."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.servers import free_port  # noqa: F401  (one copy, shared with the tests)

from .harness import timed


class ToolMissing(RuntimeError):
    """A peer is not installed: the benchmark that needs it reports a row saying so."""


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(f"{tool} is not installed (apt-get install it)")
    return path


def run(*argv: str | os.PathLike[str], env: dict[str, str] | None = None,
        cwd: Path | None = None, stdin: int | None = subprocess.DEVNULL) -> str:
    """Run to completion; its stdout. A failure raises with everything it printed."""
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env,
                            cwd=cwd, stdin=stdin, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def run_timed(*argv: str | os.PathLike[str], env: dict[str, str] | None = None,
              cwd: Path | None = None) -> float:
    """Wall time of a whole process (start-up included), output discarded; failure raises."""
    def call() -> None:
        result = subprocess.run([str(a) for a in argv], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n"
                               f"{result.stderr.decode(errors='replace')[-2000:]}")
    return timed(call)


def cpu_seconds() -> float:
    """User + system CPU time of this process and of every child it has waited for (their own
    waited-for children included): far less sensitive to other load than wall time."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class BothClocks:
    """A measure (returning wall time, as ``alternate`` wants) that also keeps the CPU time each
    call used, in ``cpu`` — the first entry is ``alternate``'s untimed warm-up round."""

    def __init__(self, measure: Callable[[], float]) -> None:
        self.measure = measure
        self.cpu: list[float] = []

    def __call__(self) -> float:
        before = cpu_seconds()
        wall = self.measure()
        self.cpu.append(cpu_seconds() - before)
        return wall


#: What pip writes as the ``minidock`` console script (pip's own template, for any entry point).
PIP_CONSOLE_SCRIPT = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from minidock_magic.cli import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def pip_like_install(root: Path, package_parent: str) -> tuple[Path, Path]:
    """A venv in ``root`` where the package is found as ``pip install`` leaves it (a plain
    directory on ``sys.path``), not through an editable install's finder: a ``.pth`` of plain
    path lines (which ``site`` appends without importing anything) names this checkout and this
    environment's site-packages (the dependencies; their own ``.pth`` files are not run). Returns
    its python and a ``minidock`` console script with pip's text."""
    import sysconfig
    import venv
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(root)
    python = root / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    paths = dict.fromkeys([package_parent, sysconfig.get_paths()["purelib"],
                           sysconfig.get_paths()["platlib"]])
    (Path(purelib) / "minidock-checkout.pth").write_text("".join(f"{p}\n" for p in paths))
    script = root / "bin" / "minidock"
    script.write_text(PIP_CONSOLE_SCRIPT.format(python=python))
    script.chmod(0o755)
    return python, script


def minidock_argv() -> list[str]:
    """The ``minidock`` console script a user runs, from this interpreter's environment."""
    script = Path(sys.executable).parent / "minidock"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "minidock_magic.cli"]


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 20.0,
               alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if not alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready")
        time.sleep(0.02)


def http_ok(url: str, verify: Path | None = None) -> bool:
    import httpx
    try:
        return httpx.get(url, timeout=1, verify=str(verify) if verify else True).status_code < 500
    except httpx.TransportError:
        return False


def mounts_under(root: Path) -> list[str]:
    """Mount points below ``root``, deepest first (podman and overlay snapshots may leave some)."""
    prefix = str(root.resolve()) + "/"
    found = []
    with open("/proc/self/mountinfo") as table:
        for line in table:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def remove_tree(root: Path) -> None:
    for point in mounts_under(root):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    shutil.rmtree(root, ignore_errors=True)


def fresh_dir(path: Path) -> Path:
    if path.exists():
        remove_tree(path)
    path.mkdir(parents=True)
    return path


def disk_usage(root: Path) -> tuple[int, int]:
    """(bytes allocated on disk, apparent bytes) under ``root``, each inode once — ``du``'s view."""
    seen: set[tuple[int, int]] = set()
    allocated = apparent = 0
    for directory, dirs, files in os.walk(root):
        for name in (*dirs, *files, ""):
            path = os.path.join(directory, name) if name else directory
            if name == "" and directory != str(root):
                continue  # a directory is counted once, by its parent's listing
            st = os.lstat(path)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            allocated += st.st_blocks * 512
            apparent += st.st_size
    return allocated, apparent


def machine_facts() -> dict[str, str]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    mem = ""
    try:
        with open("/proc/meminfo") as info:
            kib = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
            mem = f"{kib / (1 << 20):.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"cores": str(os.cpu_count()), "cpu": cpu, "memory": mem,
            "kernel": platform.release(), "python": platform.python_version(),
            "load average (1/5/15 min)": load}


def tool_versions() -> dict[str, str]:
    versions = {}
    for tool, args in (("podman", ["--version"]), ("skopeo", ["--version"]),
                       ("umoci", ["--version"]), ("docker-registry", ["--version"]),
                       ("runc", ["--version"])):
        path = shutil.which(tool)
        if path is None:
            versions[tool] = "not installed"
            continue
        result = subprocess.run([path, *args], capture_output=True, text=True, check=False)
        versions[tool] = (result.stdout or result.stderr).strip().splitlines()[0] if \
            (result.stdout or result.stderr).strip() else "?"
    return versions


def code_under_test() -> str:
    """Which checkout's ``minidock_magic`` was measured, and its commit (read-only git)."""
    import minidock_magic
    root = Path(minidock_magic.__file__).resolve().parents[1]
    result = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False)
    commit = result.stdout.strip()
    if not commit:
        return str(root)
    status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True, check=False)
    dirty = bool(status.stdout.strip())
    return f"{root} at {commit}" + (" (plus uncommitted work)" if dirty else "")
