"""``ImageExplorer``: click through an image's layers and files, in the spirit of ``dive``.

Everything a student sees is computed from plain Python state (``selected_layer``, ``merged``,
``rows``, ``file_preview``, ``wasted_bytes``, ``efficiency``), which the widgets only mirror: a
test, or a notebook without a widget frontend, drives it by calling the methods.

``wasted_bytes`` and ``efficiency`` describe the image *as it stands after the selected layer*;
with the top layer selected (the default) they are the whole image's.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets  # type: ignore[import-untyped]

from ..errors import MinidockError
from ..images.image import Image
from ..results import human_size
from .layers import (
    LISTINGS,
    Change,
    FileInfo,
    ImageReport,
    LayerReport,
    ListingCache,
    image_report,
    layer_commands,
)
from .fallback import StaticFallback
from .preview import describe
from .tars import DIR, SYMLINK, read_file_head

if TYPE_CHECKING:
    from ..facade import Minidock

#: More rows than this are kept in ``rows`` but not put in the list widget; the filter narrows them.
MAX_LISTED = 2000
ERROR_STYLE = "color:#b00020"


@dataclass(frozen=True, slots=True)
class FileRow:
    mark: str  # 'A' | 'C' | 'D', or ' ' for an entry the selected layer did not touch
    path: str
    size: int
    kind: str
    layer: int  # the layer this version lives in (for D: the layer it was removed from)
    linkname: str = ""

    def label(self, merged: bool) -> str:
        """``A L2   10.0kB  /big``: mark, (merged view:) layer, size, path."""
        size = {DIR: "dir", SYMLINK: "link"}.get(self.kind) or human_size(self.size)
        where = f"L{self.layer:<3}" if merged else ""
        suffix = "/" if self.kind == DIR else f" -> {self.linkname}" if self.kind == SYMLINK else ""
        return f"{self.mark} {where}{size:>8}  {self.path}{suffix}"


def short_command(command: str, width: int = 70) -> str:
    """
    >>> short_command('/bin/sh -c #(nop) COPY file:abc in / ')
    'COPY file:abc in /'
    """
    command = command.replace("/bin/sh -c #(nop) ", "").strip()
    return command if len(command) <= width else command[:width - 1] + "…"


def count(number: int, one: str, many: str) -> str:
    """
    >>> count(1, "layer", "layers"), count(3, "layer", "layers")
    ('1 layer', '3 layers')
    """
    return f"{number} {one if number == 1 else many}"


class ImageExplorer(StaticFallback, widgets.VBox):
    """Layer list (size, the command that made it), the selected layer's files with A/C/D marks or
    the merged filesystem up to it, a file viewer, and the wasted-space summary."""

    def __init__(self, engine: Minidock, image_text: str, *, cache: ListingCache = LISTINGS) -> None:
        self.engine = engine
        self.image: Image = engine.image(image_text)
        self.name = image_text  # the name the student typed, not whichever tag the image has first
        self.report: ImageReport = image_report(engine.content, self.image, cache)
        self.commands = layer_commands(self.image)
        self.selected_layer = len(self.image.layers) - 1
        self.merged = False
        self.path_filter = ""
        self.rows: list[FileRow] = []
        self.selected_path: str | None = None
        self.file_preview = ""
        self.error = ""
        self._syncing = False

        self.layer_list = widgets.Select(options=self._layer_options(),
                                         rows=min(8, max(2, len(self.image.layers))),
                                         layout=widgets.Layout(width="100%"))
        self.mode = widgets.ToggleButtons(options=[("this layer only", False),
                                                   ("merged filesystem up to here", True)],
                                          value=False, style={"button_width": "auto"})
        self.filter_box = widgets.Text(placeholder="filter paths (substring)",
                                       layout=widgets.Layout(width="20em"))
        self.file_list = widgets.Select(options=[], rows=18, layout=widgets.Layout(width="50%"))
        self.file_list.add_class("minidock-mono")
        self.viewer = widgets.HTML(layout=widgets.Layout(width="50%"))
        self.summary = widgets.HTML()
        self._on(self.layer_list, self.select_layer)
        self._on(self.mode, self.show_merged)
        self._on(self.filter_box, self.filter_paths)
        self._on(self.file_list, self.select_path)
        style = widgets.HTML("<style>.minidock-mono select{font-family:monospace}</style>")
        title = widgets.HTML(self.title_html())
        super().__init__(children=[style, title, self.layer_list, self.summary,
                                   widgets.HBox([self.mode, self.filter_box]),
                                   widgets.HBox([self.file_list, self.viewer])])
        self._refresh()

    # -- state (what the widgets show) --------------------------------------------------------
    def title_html(self) -> str:
        return (f"<b>{escape(self.name)}</b> — {count(len(self.image.layers), 'layer', 'layers')}, "
                f"{human_size(self.image.size)} of blobs. A added, C changed, D deleted (by the "
                "selected layer).")

    def static_text(self) -> str:
        return (f"Image explorer for {self.name}: {count(len(self.image.layers), 'layer', 'layers')}, "
                f"{human_size(self.image.size)}; layer {self.selected_layer} selected, "
                f"{count(len(self.rows), 'path', 'paths')} listed (run the notebook to click through)")

    def static_html(self) -> str:
        layers = "".join(f"<li><code>{escape(label)}</code></li>" for label, _ in self._layer_options())
        rows = "".join(f"<li><code>{escape(r.label(self.merged))}</code></li>" for r in self.rows[:40])
        more = f"<li><i>… {len(self.rows) - 40} more</i></li>" if len(self.rows) > 40 else ""
        return (f"<div>{self.title_html()}<br><i>A snapshot: run the notebook to click through "
                f"layers and files.</i><ol start='0'>{layers}</ol><p>{escape(self.summary_text)}</p>"
                f"<p>Layer {self.selected_layer}:</p><ul style='list-style:none;padding-left:0'>"
                f"{rows}{more}</ul></div>")

    @property
    def layer(self) -> LayerReport | None:
        return self.report.layers[self.selected_layer] if self.report.layers else None

    @property
    def wasted_bytes(self) -> int:
        return self.layer.wasted_up_to if self.layer else 0

    @property
    def total_bytes(self) -> int:
        return self.layer.total_up_to if self.layer else 0

    @property
    def efficiency(self) -> float:
        return self.layer.efficiency_up_to if self.layer else 1.0

    @property
    def summary_text(self) -> str:
        if self.layer is None:
            return "This image has no layers."
        whole = self.report
        return (f"Layer {self.selected_layer}: {human_size(self.layer.content_bytes)} of files, "
                f"removes {human_size(self.layer.removed_bytes)} from lower layers. "
                f"Up to here: {human_size(self.total_bytes)}, wasted {human_size(self.wasted_bytes)}, "
                f"efficiency {self.efficiency:.1%}. Whole image: {human_size(whole.total_bytes)}, "
                f"wasted {human_size(whole.wasted_bytes)}, efficiency {whole.efficiency:.1%}.")

    # -- actions (the widgets call these; so can tests) ---------------------------------------
    def select_layer(self, index: int) -> None:
        if not 0 <= index < len(self.image.layers):
            raise IndexError(f"no layer {index}: the image has {len(self.image.layers)}")
        self.selected_layer = index
        self._refresh()

    def show_merged(self, merged: bool) -> None:
        self.merged = bool(merged)
        self._refresh()

    def filter_paths(self, text: str) -> None:
        self.path_filter = text or ""
        self._refresh()

    def select_path(self, path: str | None) -> None:
        self.selected_path = path
        self.error, self.file_preview = "", ""
        row = next((r for r in self.rows if r.path == path), None) if path else None
        if row is None:
            self._sync()
            return
        if row.mark == "D":
            self.file_preview = (f"{row.path}: deleted by layer {self.selected_layer} "
                                 f"({human_size(row.size)} still stored in layer {row.layer})")
        else:
            try:
                head = read_file_head(self.engine.content, self.image.layers[row.layer].digest, row.path)
                self.file_preview = describe(head) if head else f"{row.path}: not in layer {row.layer}"
            except (MinidockError, OSError, EOFError, tarfile.TarError) as error:
                self.error = f"cannot read {row.path}: {error}"
        self._sync()

    # -- computing rows, mirroring state into widgets -----------------------------------------
    def _on(self, widget: widgets.ValueWidget, action: Callable[[Any], None]) -> None:
        """A user's change calls ``action``; our own mirroring of state into widgets does not."""
        def changed(change: dict[str, Any]) -> None:
            if not self._syncing and change["new"] is not None:
                action(change["new"])
        widget.observe(changed, names="value")

    def _rows(self) -> list[FileRow]:
        if self.layer is None:
            return []
        changes: dict[str, Change] = {c.path: c for c in self.layer.changes}
        if not self.merged:
            rows = [FileRow(c.mark, c.path, c.size, c.kind, c.layer, c.linkname)
                    for c in changes.values()]
        else:
            merged: dict[str, FileInfo] = self.report.merged_after(self.selected_layer)
            rows = [FileRow(changes[p].mark if p in changes else " ", p, i.size, i.kind, i.layer,
                            i.linkname) for p, i in merged.items()]
            rows += [FileRow("D", c.path, c.size, c.kind, c.layer, c.linkname)
                     for c in changes.values() if c.mark == "D"]
        needle = self.path_filter
        return sorted((r for r in rows if needle in r.path), key=lambda r: r.path)

    def _refresh(self) -> None:
        self.rows = self._rows()
        if self.selected_path not in {r.path for r in self.rows}:
            self.selected_path, self.file_preview, self.error = None, "", ""
        self._sync()

    def _sync(self) -> None:
        self._syncing = True
        try:
            self.layer_list.value = self.selected_layer if self.report.layers else None
            self.mode.value = self.merged
            self.filter_box.value = self.path_filter
            shown = self.rows[:MAX_LISTED]
            if self.selected_path is not None and all(r.path != self.selected_path for r in shown):
                shown.append(next(r for r in self.rows if r.path == self.selected_path))
            options = [(r.label(self.merged), r.path) for r in shown]
            if list(self.file_list.options) != options:
                self.file_list.options = options
            self.file_list.value = self.selected_path
        finally:
            self._syncing = False
        more = (f"<br><i>showing {MAX_LISTED} of {len(self.rows)} paths: filter to narrow</i>"
                if len(self.rows) > MAX_LISTED else "")
        self.summary.value = escape(self.summary_text) + more
        body = (f"<span style='{ERROR_STYLE}'>{escape(self.error)}</span>" if self.error else
                # white-space: a row of the hex dump stays one row (the frontends' CSS wraps <pre>)
                f"<pre style='margin:0;max-height:28em;overflow:auto;white-space:pre'>"
                f"{escape(self.file_preview)}</pre>"
                if self.file_preview else "<i>select a file to see its first 4 KiB</i>")
        self.viewer.value = body

    def _layer_options(self) -> list[tuple[str, int]]:
        return [(f"{i:>2}  {human_size(layer.content_bytes):>8}  {short_command(command)}", i)
                for i, (layer, command) in enumerate(zip(self.report.layers, self.commands))]
