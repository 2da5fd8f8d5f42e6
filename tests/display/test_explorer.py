"""The dive-like explorer, driven through its Python state and through its widgets' values."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from minidock_magic.display import explore
from minidock_magic.display.explorer import MAX_LISTED, FileRow, ImageExplorer
from minidock_magic.errors import NotFound
from tests.display.conftest import BIG, TOOL


def paths(explorer: ImageExplorer) -> dict[str, str]:
    return {row.path: row.mark for row in explorer.rows}


def test_opens_on_the_top_layer_with_the_whole_images_figures(wasteful):
    explorer = explore(wasteful, "wasteful:1")
    assert isinstance(explorer, ImageExplorer)
    assert explorer.selected_layer == 2 and explorer.layer_list.value == 2
    assert paths(explorer) == {"/big": "D"}
    assert explorer.wasted_bytes == BIG == explorer.report.wasted_bytes
    total = explorer.report.total_bytes
    assert total == BIG + len(TOOL) + len("welcome to the layers lesson\n")
    assert explorer.efficiency == pytest.approx(1 - BIG / total) and explorer.efficiency < 1
    assert "wasted 10kB" in explorer.summary.value
    labels = [label for label, _ in explorer.layer_list.options]
    assert "RUN make-big > /big" in labels[1] and "10kB" in labels[1] and "RUN rm /big" in labels[2]


def test_selecting_a_layer_updates_the_file_tree_and_the_waste(wasteful):
    explorer = explore(wasteful, "wasteful:1")
    explorer.select_layer(1)
    assert paths(explorer) == {"/big": "A"}
    assert (explorer.wasted_bytes, explorer.efficiency) == (0, 1.0)
    assert [label for label, _ in explorer.file_list.options] == ["A     10kB  /big"]
    explorer.layer_list.value = 0  # what a click does
    assert explorer.selected_layer == 0
    assert paths(explorer) == {"/bin": "A", "/bin/t": "A", "/bin/tool": "A", "/etc": "A",
                               "/etc/motd": "A"}
    assert "/bin/t -> tool" in explorer.rows[1].label(False)
    with pytest.raises(IndexError):
        explorer.select_layer(3)


def test_merged_view_toggle(wasteful):
    explorer = explore(wasteful, "wasteful:1")
    explorer.select_layer(1)
    explorer.show_merged(True)
    assert explorer.mode.value is True
    assert paths(explorer) == {"/big": "A", "/bin": " ", "/bin/t": " ", "/bin/tool": " ",
                               "/etc": " ", "/etc/motd": " "}
    big = next(r for r in explorer.rows if r.path == "/big")
    assert big == FileRow("A", "/big", BIG, "file", 1)
    assert big.label(True) == "A L1      10kB  /big"
    explorer.layer_list.value = 2  # the deleted file is still listed, marked, in the merged view
    assert paths(explorer)["/big"] == "D" and len(explorer.rows) == 6
    assert explorer.report.merged_after(2).keys() == {"/bin", "/bin/t", "/bin/tool", "/etc", "/etc/motd"}
    explorer.mode.value = False  # the toggle, clicked
    assert explorer.merged is False and paths(explorer) == {"/big": "D"}


def test_file_preview_text_binary_and_deleted(wasteful):
    explorer = explore(wasteful, "wasteful:1")
    explorer.select_layer(0)
    explorer.select_path("/etc/motd")
    assert explorer.file_preview == "/etc/motd: 29B\nwelcome to the layers lesson\n"
    assert "welcome to the layers lesson" in explorer.viewer.value
    explorer.file_list.value = "/bin/tool"  # a click in the file list
    assert explorer.selected_path == "/bin/tool"
    assert explorer.file_preview.splitlines()[1].startswith("00000000  7f 45 4c 46")
    assert "|.ELF" in explorer.file_preview
    explorer.select_path("/bin/t")
    assert explorer.file_preview == "/bin/t: symbolic link -> tool"
    explorer.select_layer(2)
    assert explorer.selected_path is None and explorer.file_preview == ""  # not in this layer
    explorer.select_path("/big")
    assert explorer.file_preview == "/big: deleted by layer 2 (10kB still stored in layer 1)"
    explorer.show_merged(True)
    explorer.select_path("/etc/motd")  # merged: read from the layer that put it there
    assert explorer.file_preview.endswith("welcome to the layers lesson\n")


def test_filter_and_a_missing_blob_is_one_red_line(wasteful):
    explorer = explore(wasteful, "wasteful:1")
    explorer.select_layer(0)
    explorer.filter_box.value = "bin"
    assert sorted(paths(explorer)) == ["/bin", "/bin/t", "/bin/tool"]
    explorer.filter_paths("")
    assert len(explorer.rows) == 5
    explorer.engine.content.delete(explorer.image.layers[0].digest)
    explorer.select_path("/etc/motd")
    assert explorer.error.startswith("cannot read /etc/motd:") and "\n" not in explorer.error
    assert "color:#b00020" in explorer.viewer.value


def test_busybox_and_many_rows(busybox_engine, monkeypatch):
    monkeypatch.setattr("minidock_magic.display.explorer.MAX_LISTED", 50)
    explorer = explore(busybox_engine, "busybox")
    assert explorer.wasted_bytes == 0 and explorer.efficiency == 1.0
    assert len(explorer.rows) > 50 and len(explorer.file_list.options) == 50
    assert "filter to narrow" in explorer.summary.value
    explorer.select_path(explorer.rows[-1].path)  # beyond the listed ones: still selectable
    assert explorer.file_list.value == explorer.rows[-1].path
    assert MAX_LISTED == 2000


def test_unknown_image_is_the_engines_error(engine):
    with pytest.raises(NotFound):
        explore(engine, "nothere:1")


def test_it_is_a_widget_for_ipython(wasteful):
    bundle, _ = InteractiveShell.instance().display_formatter.format(explore(wasteful, "wasteful:1"))
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_title_says_the_name_typed_and_counts_in_english(busybox_engine):
    from minidock_magic.display import explore
    busybox_engine.tag("busybox", "localhost:5000/teaching/busybox:1")
    explorer = explore(busybox_engine, "busybox")
    assert explorer.title_html().startswith("<b>busybox</b> — 1 layer,")
    bundle = explorer._repr_mimebundle_()
    assert "ImageExplorer(" not in bundle["text/plain"] and "busybox: 1 layer" in bundle["text/plain"]
    assert "bin/busybox" in bundle["text/html"] and "run the notebook" in bundle["text/html"]
    assert explorer.mode.style.button_width == "auto"  # "merged filesystem up to here", uncut
