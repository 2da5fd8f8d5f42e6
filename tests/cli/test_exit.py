"""The ``minidock`` process leaves through ``cli.exit_now``: what ``sys.exit`` would do that a
command can see (its exit status, every line it printed, atexit callbacks, threads it left
running) must still happen; only the interpreter's teardown is skipped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONSOLE = """\
import atexit, sys, threading, time
from pathlib import Path
from minidock_magic.cli import console
out = Path(sys.argv[1])
def late() -> None:
    time.sleep(0.2)
    out.with_suffix(".thread").write_text("joined")
threading.Thread(target=late).start()
atexit.register(lambda: out.with_suffix(".atexit").write_text("ran"))
sys.argv = ["minidock", "--home", str(out.parent / "home"), *sys.argv[2:]]
console()
"""


def _console(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CONSOLE, str(tmp_path / "out"), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def test_output_status_threads_and_atexit_survive_the_fast_exit(tmp_path: Path) -> None:
    result = _console(tmp_path, "logout", "127.0.0.1:1")
    assert result.returncode == 0, result.stderr
    assert "127.0.0.1:1" in result.stdout  # printed with no newline flush of its own: a pipe
    assert (tmp_path / "out.thread").read_text() == "joined"
    assert (tmp_path / "out.atexit").read_text() == "ran"


def test_an_error_keeps_its_line_and_its_status(tmp_path: Path) -> None:
    result = _console(tmp_path, "pull", "127.0.0.1:1/nothing:1")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "127.0.0.1:1" in result.stderr, result.stderr


def test_a_reader_that_goes_away_is_no_error(tmp_path: Path) -> None:
    """``minidock … | head -0``: the pipe is closed before the flush at exit (or, by chance,
    after it): status 0 either way, and no "Exception ignored" on stderr."""
    child = subprocess.Popen([sys.executable, "-c", CONSOLE, str(tmp_path / "out"), "logout",
                              "127.0.0.1:1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()
    assert child.wait(timeout=60) == 0
    assert b"Exception ignored" not in child.stderr.read()
    child.stderr.close()
