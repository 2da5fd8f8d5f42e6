"""A container as a student should picture it: a writable layer (可写层) on a read-only stack (只读层),
and a panel of the buttons that move it through its lifecycle.

As in :mod:`.explorer`, the state is plain attributes (``changes``, ``stack``, ``status``,
``error``, ``logs_text``) that the widgets mirror, so tests drive both without a browser. An
error is one red line in the panel, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from ..containers.publish import ps_column, stored_bindings
from ..containers.results import status_text
from ..diff.changes import Change
from ..images.image import Image, load_image
from ..oci.descriptor import Descriptor
from ..results import html_table, human_size
from ..errors import NotFound
from .explorer import ERROR_STYLE, short_command
from .fallback import StaticFallback
from .layers import layer_commands

if TYPE_CHECKING:
    from ..facade import Minidock

#: Logs shown are the last this many bytes (a chatty container must not flood the notebook).
LOG_TAIL = 64 * 1024
PROGRESS = {"start": "starting", "stop": "stopping", "restart": "restarting", "rm": "removing"}
MARK_COLOURS = {"A": "#1b7f1b", "C": "#a66400", "D": "#b00020"}


@dataclass(frozen=True, slots=True)
class StackRow:
    position: str  # 'writable' or the layer index
    what: str  # digest (short), or the container's snapshot
    size: str
    created_by: str


def one_line(error: BaseException) -> str:
    """An error as the single line a panel shows."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def image_of(engine: Minidock, config: Any) -> Image:
    """The image a container was made from, by the manifest its record keeps alive (its name
    may have been removed or moved since)."""
    return load_image(engine.content, Descriptor.from_json(config.image_target))


def image_name(config: Any, image: Image) -> str:
    """The name the container was created from (``busybox``), not ``<none>@…``: its record keeps
    what the student typed."""
    return config.image or image.display_name


class ContainerView(StaticFallback, widgets.VBox):
    """``docker diff`` of the writable layer, on top of the image layers it is stacked on."""

    def __init__(self, engine: Minidock, container_text: str) -> None:
        self.engine = engine
        self.config = engine.containers.get(container_text)
        self.image = image_of(engine, self.config)
        self.changes: list[Change] = []
        self.stack: list[StackRow] = []
        self.error = ""
        self.body = widgets.HTML()
        refresh = widgets.Button(description="refresh", icon="refresh",
                                 tooltip="read the writable layer again")
        refresh.on_click(lambda _button: self.refresh())
        super().__init__(children=[self.body, refresh])
        self.refresh()

    def refresh(self) -> None:
        self.error = ""
        try:
            self.changes = list(self.engine.containers.diff(self.config.id))
        except Exception as error:  # noqa: BLE001 - a widget shows every failure as one line
            self.changes, self.error = [], f"cannot read the writable layer: {one_line(error)}"
        commands = layer_commands(self.image)
        layers = [StackRow(str(i), str(layer.digest.short), human_size(layer.size),
                           short_command(commands[i], 50))
                  for i, layer in enumerate(self.image.layers)]
        writable = StackRow("writable", f"snapshot {self.config.snapshot[:22]}",
                            f"{len(self.changes)} changes", "what the container wrote (可写层)")
        self.stack = [writable, *reversed(layers)]
        self.body.value = self.to_html()

    def to_html(self) -> str:
        name = escape(self.config.name)
        layers = len(self.image.layers)
        head = (f"<b>container {name}</b> ({self.config.id[:12]}) on image "
                f"<code>{escape(image_name(self.config, self.image))}</code>: one writable layer "
                f"(R/W, 可写层) over {layers} read-only {'layer' if layers == 1 else 'layers'} (R/O, 只读层).")
        error = f"<div style='{ERROR_STYLE}'>{escape(self.error)}</div>" if self.error else ""
        caption = ("<div style='white-space:nowrap'><b>Writable layer vs image</b>: A added, "
                   "C changed, D deleted</div>")
        if self.changes:
            rows = "".join(f"<tr><td style='color:{MARK_COLOURS.get(c.kind.value, '')}'><b>"
                           f"{c.kind.value}</b></td><td><code>{escape(c.path)}</code></td></tr>"
                           for c in self.changes)
            diff = (f"{caption}<table class='minidock'><thead><tr><th>KIND</th><th style="
                    f"'text-align:left'>PATH</th></tr></thead><tbody>{rows}</tbody></table>")
        else:
            diff = f"{caption}<div><i>no changes: the container has written nothing yet</i></div>"
        stack = html_table(["LAYER", "LAYER DIGEST", "SIZE", "CREATED BY"],
                           [[r.position, r.what, r.size, r.created_by] for r in self.stack])
        return (head + error + diff + "<div style='white-space:nowrap;margin-top:0.5em'><b>The stack, "
                "top first</b>: only the top layer is writable</div>" + stack)

    def static_html(self) -> str:
        return self.to_html()

    def static_text(self) -> str:
        return (f"container {self.config.name} on {image_name(self.config, self.image)}: writable layer "
                f"with {len(self.changes)} changes over {len(self.image.layers)} read-only layers")


class LifecyclePanel(StaticFallback, widgets.VBox):
    """State, start/stop/restart/rm buttons wired to the engine, and the container's logs."""

    ACTIONS = ("start", "stop", "restart", "rm")

    def __init__(self, engine: Minidock, container_text: str, *, stop_timeout: float = 10.0) -> None:
        self.engine = engine
        self.config = engine.containers.get(container_text)
        self.stop_timeout = stop_timeout
        self.status = ""
        self.status_line = ""
        self.error = ""
        self.logs_text = ""
        self.removed = False
        self.state_label = widgets.HTML()
        self.error_line = widgets.HTML()
        self.buttons = {name: widgets.Button(description=name) for name in self.ACTIONS}
        handlers: dict[str, Callable[[], None]] = {"start": self.start, "stop": self.stop,
                                                   "restart": self.restart, "rm": self.remove}
        for name, button in self.buttons.items():
            button.on_click(lambda _button, act=handlers[name]: act())
        self.buttons["rm"].button_style = "danger"
        refresh_logs = widgets.Button(description="refresh logs", icon="refresh")
        refresh_logs.on_click(lambda _button: self.refresh_logs())
        self.logs_view = widgets.HTML()
        super().__init__(children=[self.state_label, widgets.HBox(list(self.buttons.values())),
                                   self.error_line, refresh_logs, self.logs_view])
        self.refresh()
        self.refresh_logs()

    # -- actions ------------------------------------------------------------------------------
    def start(self) -> None:
        self._act("start", lambda: self.engine.containers.start(self.config.id))

    def stop(self) -> None:
        self._act("stop", lambda: self.engine.containers.stop(self.config.id, self.stop_timeout))

    def restart(self) -> None:
        self._act("restart", lambda: self.engine.containers.restart(self.config.id, self.stop_timeout))

    def remove(self) -> None:
        def remove() -> None:
            self.engine.containers.remove(self.config.id)
            self.removed = True
        self._act("rm", remove)

    def _act(self, name: str, action: Callable[[], Any]) -> None:
        """Buttons off and "stopping…" shown first: a stop may take its whole timeout."""
        self.error = ""
        for button in self.buttons.values():
            button.disabled = True
        self.state_label.value = (f"<b>{escape(self.config.name)}</b> "
                                  f"<code>{self.config.id[:12]}</code> — {PROGRESS[name]}…")
        try:
            action()
        except NotFound:  # removed behind the panel's back (rm -f in another cell)
            self.removed = True
        except Exception as error:  # noqa: BLE001 - a widget shows every failure as one line
            self.error = f"{name}: {one_line(error)}"
        self.refresh()

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> None:
        if not self.removed and not self._still_there():
            self.removed, self.error = True, ""
        if self.removed:
            self.status, self.status_line = "removed", f"{self.config.name}: removed"
        else:
            try:
                state = self.engine.containers.lifecycle.state(self.config)
                self.status = state.status
                self.status_line = f"{self.config.name}: {status_text(state)}"
                if state.error:
                    self.status_line += f" ({state.error})"
                if state.ports:  # published: where to open it from the host
                    self.status_line += " — ports " + ps_column(stored_bindings(state.ports))
            except Exception as error:  # noqa: BLE001
                self.status, self.status_line = "unknown", f"{self.config.name}: state unknown"
                self.error = self.error or f"state: {one_line(error)}"
        running = self.status == "running"
        enabled = {"start": not running, "stop": running, "restart": True, "rm": True}
        for name, button in self.buttons.items():
            button.disabled = self.removed or not enabled[name]
        self.state_label.value = (f"<b>{escape(self.config.name)}</b> "
                                  f"<code>{self.config.id[:12]}</code> — {escape(self.status_line)}")
        self.error_line.value = (f"<div style='{ERROR_STYLE}'>{escape(self.error)}</div>"
                                 if self.error else "")

    def _still_there(self) -> bool:
        try:
            self.engine.containers.get(self.config.id)
        except NotFound:
            return False
        return True

    def static_html(self) -> str:
        return (f"{self.state_label.value}<br><i>A snapshot: run the notebook for the start, stop, "
                f"restart and rm buttons.</i>{self.logs_view.value}")

    def static_text(self) -> str:
        return f"lifecycle panel for {self.status_line} (run the notebook for its buttons)"

    def refresh_logs(self) -> None:
        if self.removed:
            self.logs_text = ""
        else:
            tail = bytearray()
            try:
                for chunk in self.engine.containers.logs(self.config.id):
                    tail += chunk
                    del tail[:-LOG_TAIL]
                self.logs_text = tail.decode("utf-8", "replace")
            except FileNotFoundError:  # created, never started: no log yet, nothing wrong
                self.logs_text = ""
            except Exception as error:  # noqa: BLE001
                self.error = f"logs: {one_line(error)}"
                self.refresh()
        self.logs_view.value = (f"<pre style='margin:0;max-height:20em;overflow:auto'>"
                                f"{escape(self.logs_text)}</pre>" if self.logs_text
                                else "<i>no output yet</i>")


class ContainerPanel(StaticFallback, widgets.VBox):
    """``%dock panel``: the container's stack and diff above its lifecycle buttons."""

    def __init__(self, engine: Any, container_text: str) -> None:
        self.view = ContainerView(engine, container_text)
        self.panel = LifecyclePanel(engine, container_text)
        super().__init__(children=[self.view, self.panel])

    def static_html(self) -> str:
        return self.view.static_html() + "<hr>" + self.panel.static_html()

    def static_text(self) -> str:
        return f"{self.view.static_text()}; {self.panel.static_text()}"
