"""The reliability suites' shared pieces: a tally of cases tried and held, shown at the end of
the run, and a watched "world" around an engine home in which nothing may change.

The tally works under ``-n 2`` too: the controller makes a directory and names it in the
environment before the workers start; each process appends one JSON line per event there, and
the controller's ``pytest_terminal_summary`` adds them up. (Run with the whole repository and
xdist, the controller never loads this conftest, so there is no summary line; the per-suite
``test_*_suite_size`` tests still assert the counts.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from minidock_magic.facade import Minidock
from tests.reliability.zygote import Zygote

TALLY_ENV = "MINIDOCK_RELIABILITY_TALLY"
_OWNED = pytest.StashKey[str]()

#: A name no real file has: every escape attempt in these suites writes it.
ESCAPE = f"minidock-escape-{os.getpid()}"
REAL_HOST = [Path("/", ESCAPE), Path("/etc", ESCAPE), Path("/tmp", ESCAPE), Path("/root", ESCAPE)]
#: Where an image's files may legitimately land in a home: a snapshot's own tree.
INSIDE_A_ROOTFS = re.compile(r"/snapshots/[^/]+/snapshots/[^/]+/fs(/|$)")


# -- the tally ------------------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or os.environ.get(TALLY_ENV):
        return  # a worker (inherits the controller's directory), or someone set it on purpose
    directory = tempfile.mkdtemp(prefix="minidock-tally-")
    os.environ[TALLY_ENV] = directory
    config.stash[_OWNED] = directory


class Tally:
    """Cases of one suite: ``with tally.case("name"): ...`` counts it tried, and held if the
    block finishes (its assertions passed)."""

    def __init__(self, suite: str) -> None:
        self.suite = suite

    def _record(self, case: str, event: str) -> None:
        directory = os.environ.get(TALLY_ENV)
        if not directory or not os.path.isdir(directory):
            return
        line = json.dumps({"suite": self.suite, "case": case, "event": event}) + "\n"
        fd = os.open(Path(directory) / f"{os.getpid()}.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def case(self, name: str) -> Iterator[None]:
        self._record(name, "tried")
        yield
        self._record(name, "held")

    def note(self, text: str) -> None:
        """A line shown under the suite's count (how many kills landed mid-command, say)."""
        self._record(text, "note")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    directory = config.stash.get(_OWNED, None)
    if directory is None:
        return
    suites: dict[str, dict[str, set[str]]] = {}
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            with contextlib.suppress(ValueError, KeyError):
                event = json.loads(line)
                suites.setdefault(event["suite"], {"tried": set(), "held": set(), "note": set()})[
                    event["event"]].add(event["case"])
    shutil.rmtree(directory, ignore_errors=True)
    if not suites:
        return
    terminalreporter.section("reliability suites")
    for suite in sorted(suites):
        tried, held = suites[suite]["tried"], suites[suite]["held"]
        terminalreporter.write_line(f"{suite}: {len(tried)} cases tried, {len(held)} held")
        for note in sorted(suites[suite]["note"]):
            terminalreporter.write_line(f"    {note}")


# -- a watched world --------------------------------------------------------------------------------
def listing(root: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, tuple[object, ...]]:
    """path -> (type, mode, nlink, size, content hash or link target): what "unchanged" means."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(directory, d) not in skip]
        for name in dirs + files:
            path = Path(directory, name)
            if path in skip:
                continue
            st = path.lstat()
            extra: object = None
            if stat.S_ISREG(st.st_mode):
                extra = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(path)
            found[str(path.relative_to(root))] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                                  st.st_nlink, st.st_size if not stat.S_ISDIR(st.st_mode)
                                                  else None, extra)
    return found


class World:
    """``top/`` holds the engine home and a ``sentinel/`` tree. Outside the home nothing may
    change; inside it, an escape-named entry may only sit in a snapshot's own tree; and the real
    host's ``/``, ``/etc``, ``/tmp``, ``/root`` never gain one."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.home = top / "home"
        self.sentinel = top / "sentinel"
        (self.sentinel / "etc").mkdir(parents=True, exist_ok=True)
        (self.sentinel / "secret").write_text("host secret\n")
        (self.sentinel / "etc" / "passwd").write_text("root:x:0:0:host:/root:/bin/sh\n")
        self._before = self._outside()
        self._passwd_links = os.stat("/etc/passwd").st_nlink

    def _outside(self) -> dict[str, tuple[object, ...]]:
        return listing(self.top, skip=(self.home,))

    def escapes(self) -> list[str]:
        found = [str(p) for p in REAL_HOST if p.exists() or p.is_symlink()]
        for directory, dirs, files in os.walk(self.top):
            for name in dirs + files:
                if ESCAPE in name:
                    path = os.path.join(directory, name)
                    if not INSIDE_A_ROOTFS.search(path):
                        found.append(path)
        return found

    def check(self) -> None:
        leaked = self.escapes()
        for path in leaked:
            if path.startswith(tuple(str(p) for p in REAL_HOST)):
                with contextlib.suppress(OSError):
                    os.unlink(path)
        assert not leaked, f"ESCAPED: {leaked}"
        assert self._outside() == self._before, "something outside the engine home changed"
        assert os.stat("/etc/passwd").st_nlink == self._passwd_links, "the host's /etc/passwd gained a link"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path / "world")


def copy_home(source: Path, dest: Path) -> Minidock:
    shutil.copytree(source, dest, symlinks=True)
    return Minidock(dest)


class StoreState:
    """What "the store is unchanged" compares: the blob set and index.json's exact bytes."""

    def __init__(self, engine: Minidock) -> None:
        self.engine = engine
        self.blobs = {b.digest for b in engine.content.walk()}
        self.index = (engine.layout.oci / "index.json").read_bytes()
        self.containers = {c.id for c in engine.containers.store.list()}

    def assert_unchanged(self, *, allow_dangling: bool = False) -> None:
        """``allow_dangling``: new blobs may stay if verified and unreferenced (a refused pull
        keeps the layers it finished, by design, so a retry need not fetch them again)."""
        now = StoreState(self.engine)
        check = self.engine.system_check()
        assert check.ok, str(check)
        added = now.blobs - self.blobs
        assert now.blobs >= self.blobs, f"blobs lost: {self.blobs - now.blobs}"
        if allow_dangling:
            assert added <= set(check.dangling), f"new blobs are referenced: {added - set(check.dangling)}"
        else:
            assert not added, f"blobs added: {added}"
        assert now.index == self.index, "index.json changed"
        assert now.containers == self.containers, "a container record was left behind"


def one_line(error: BaseException, *needles: str) -> str:
    """The error's text: one line, naming each of ``needles``."""
    text = str(error)
    assert text and "\n" not in text, f"not one line: {text!r}"
    for needle in needles:
        assert needle in text, f"the error should name {needle!r}: {text}"
    return text


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    """A pre-loaded process that forks the real CLI, so a kill lands mid-command, not mid-import."""
    with Zygote(tmp_path_factory.mktemp("zygote") / "children.log") as z:
        yield z
