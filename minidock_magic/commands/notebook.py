"""``explore`` and ``panel``: commands only a notebook can answer, with widgets.

Their grammar is here with every other command's (``%dock --help`` lists them; a missing or extra
argument is the same usage error). The handlers answer with a :class:`WidgetRequest`; the magic,
a layer above, turns it into the widget (``display/`` is not the engine's to import).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from . import Subcommands

#: name -> the help line ``%dock --help`` shows.
NOTEBOOK_COMMANDS = {"explore": "click through an image's layers and files",
                     "panel": "a container's writable layer on its image, with start/stop buttons"}


@dataclass(frozen=True, slots=True)
class WidgetRequest:
    """What a notebook-only command asks the notebook to show: ``explore`` an image, or the
    ``panel`` of a container."""

    command: str
    target: str


def register(sub: Subcommands) -> None:
    sub.add_parser("explore", help=NOTEBOOK_COMMANDS["explore"], define=_explore)
    sub.add_parser("panel", help=NOTEBOOK_COMMANDS["panel"], define=_panel)


def _explore(explore: argparse.ArgumentParser) -> None:
    explore.add_argument("image")
    explore.set_defaults(handler=lambda engine, args, io: WidgetRequest("explore", args.image))


def _panel(panel: argparse.ArgumentParser) -> None:
    panel.add_argument("container")
    panel.set_defaults(handler=lambda engine, args, io: WidgetRequest("panel", args.container))
