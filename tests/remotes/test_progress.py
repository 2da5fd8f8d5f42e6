"""Status lines and progress bars: bars only where someone is watching."""

from __future__ import annotations

import io

import pytest

from minidock_magic.errors import InvalidArgument, NotFound
from minidock_magic.remotes import push
from minidock_magic.remotes.progress import Progress
from minidock_magic.remotes.session import parse_platform


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_lines_are_kept_and_written():
    out = io.StringIO()
    progress = Progress(out, bar_stream=io.StringIO())
    progress.status("abc: Pull complete")
    assert progress.lines == ["abc: Pull complete"] and out.getvalue() == "abc: Pull complete\n"


def test_bars_only_on_a_terminal_and_never_when_quiet():
    assert Progress(bar_stream=io.StringIO()).bars is False
    assert Progress(bar_stream=Tty(), quiet=True).bars is False
    screen = Tty()
    progress = Progress(bar_stream=screen)
    assert progress.bars is True
    with progress.bar("0123456789ab", 2_000_000) as advance:
        advance(1_000_000)
        advance(1_000_000)
    assert "0123456789ab" in screen.getvalue() and "2.00M" in screen.getvalue()
    silent = Progress(bar_stream=io.StringIO())
    with silent.bar("x", 10) as advance:
        advance(10)  # a no-op, not an error


def test_platforms():
    assert str(parse_platform("linux/arm/v7")) == "linux/arm/v7"
    for bad in ("linux", "linux//", "a/b/c/d"):
        with pytest.raises(InvalidArgument):
            parse_platform(bad)


def test_push_needs_a_local_image_with_that_name(engine):
    with pytest.raises(NotFound) as caught:
        push(engine, "localhost:5000/me/nothing:1")
    assert str(caught.value).startswith(
        "An image does not exist locally with the tag: localhost:5000/me/nothing:1")
    with pytest.raises(InvalidArgument):
        push(engine, "localhost:5000/me/nothing@sha256:" + "0" * 64)
