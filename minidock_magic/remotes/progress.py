"""What a pull or push shows as it goes: docker's status lines, and a progress bar per blob.

Status lines (``a1b2c3d4e5f6: Pull complete``) go to any line sink and are also kept, so a caller
can return them. Bars use ``tqdm.auto``: a widget in a notebook, text on a terminal, and nothing
at all when output is neither (a CI log, a pipe) or when asked to be quiet.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import IO

from .trace import Sink, line_writer

Advance = Callable[[int], None]

#: Seconds before a notebook bar appears: a blob sent in less never draws one, so a notebook saved after a
#: fast local push or pull keeps no bar frozen at "0%" (a widget's saved text is its first frame).
BAR_DELAY = 0.5


def _in_notebook() -> bool:
    # Only look at an IPython that is already loaded: the engine never imports notebook libraries.
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    shell = get() if get is not None else None
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def bars_enabled(stream: IO[str] | None, quiet: bool) -> bool:
    if quiet:
        return False
    if _in_notebook():
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class Progress:
    """Status lines plus per-blob bars for one pull or push."""

    def __init__(self, out: Sink | None = None, *, quiet: bool = False,
                 bar_stream: IO[str] | None = None) -> None:
        self._emit = line_writer(out)
        self.lines: list[str] = []
        self._bar_stream = bar_stream if bar_stream is not None else sys.stderr
        self.bars = bars_enabled(self._bar_stream, quiet)

    def status(self, line: str) -> None:
        self.lines.append(line)
        if self._emit is not None:
            self._emit(line)

    @contextlib.contextmanager
    def bar(self, label: str, total: int) -> Iterator[Advance]:
        """``with progress.bar("a1b2c3d4e5f6", size) as advance: advance(len(chunk))``."""
        if not self.bars:
            yield lambda n: None
            return
        from tqdm.auto import tqdm  # type: ignore[import-untyped]  # tqdm picks the widget only when a notebook is running

        with tqdm(total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1000,
                  leave=False, file=self._bar_stream, dynamic_ncols=True,
                  delay=BAR_DELAY if _in_notebook() else 0) as bar:
            yield bar.update
