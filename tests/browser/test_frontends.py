"""A lesson in a real JupyterLab and in Notebook 7, driven by Chromium: run all, click the widgets.

The servers and page helpers are ``tests/browser/frontends.py`` (one copy for both frontends).
Screenshots are saved under the test's tmp dir (``<frontend>-*.png``) for a person to look at;
the assertions read what the page shows.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.frontends import (
    FRONTENDS,
    VIEWPORT,
    add_cell_and_run,
    chromium_page,
    jupyter_server,
    open_notebook,
    run_all_and_wait,
    visible_code_columns,
)
from tests.lessons.helpers import CODE_LINE_LIMIT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LESSON = "01-what-is-an-image.ipynb"
# how many lines the hex dump's first row (offset 00000000) is drawn on
ROW_LINES_JS = """
pre => {
    const range = document.createRange();
    const text = pre.firstChild, start = text.textContent.indexOf('00000000');
    range.setStart(text, start);
    range.setEnd(text, text.textContent.indexOf('\\n', start));
    return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
}
"""
# a container that ignores SIGTERM: its stop takes the panel's whole timeout (10 s, then SIGKILL),
# so "stopping…" is on the page long enough to be seen, whatever the isolation
STUBBORN = "%dock run -d --name browser-demo busybox sh -c 'trap \"\" TERM; sleep 600'"


@pytest.mark.parametrize("frontend", FRONTENDS, ids=[f.name for f in FRONTENDS])
def test_a_lesson_runs_and_its_widgets_respond(frontend, tmp_path):
    from playwright.sync_api import expect
    shots = f"{tmp_path}/{frontend.name}"
    with jupyter_server(frontend, tmp_path, [LESSON]) as served, chromium_page() as page:
        open_notebook(page, served, LESSON)
        # the lessons' line limit (tests/lessons/test_line_length.py) is in view without scrolling
        assert visible_code_columns(page) >= CODE_LINE_LIMIT, VIEWPORT

        run_all_and_wait(page)
        outputs = page.locator(".jp-OutputArea-output")
        assert not outputs.filter(has_text="Traceback").count()
        # widgets and pictures are drawn, not their repr
        assert not outputs.filter(has_text=re.compile(r"VBox\(|<LayerGraph|Loading widget")).count()
        page.screenshot(path=f"{shots}-after-run-all.png", full_page=True)

        # the picture of the digests is drawn
        picture = page.locator(".jp-RenderedSVG", has=page.locator("img, svg")).first
        picture.scroll_into_view_if_needed()
        expect(picture).to_be_visible()
        page.screenshot(path=f"{shots}-digests.png")

        # the explorer: its title, then a click on busybox's one program shows its first bytes
        explorer = page.locator(".widget-vbox", has_text="A added, C changed, D deleted").first
        explorer.scroll_into_view_if_needed()
        expect(explorer).to_contain_text("busybox — 1 layer,")
        expect(explorer.locator("button", has_text="merged filesystem up to here")).to_be_visible()
        files = explorer.locator("select").nth(1)
        program = files.locator("option", has_text=re.compile(r"/bin/busybox$")).first.inner_text()
        files.select_option(label=program)
        expect(explorer).to_contain_text("ELF", timeout=15_000)
        # each row of the hex dump is one line on the page (not wrapped in two)
        first_row = explorer.locator("pre").first.evaluate(ROW_LINES_JS)
        assert first_row == 1, f"the hex dump's first row takes {first_row} lines"
        explorer.screenshot(path=f"{shots}-explorer.png")

        # the panel of a running container: stop ("stopping…", every button off), then start again
        add_cell_and_run(page, f"{STUBBORN}\n%dock panel browser-demo")
        panel = page.locator(".widget-vbox", has_text="on image busybox").filter(has_text="restart").last
        panel.scroll_into_view_if_needed()
        expect(panel).to_contain_text("Up ")
        actions = [panel.get_by_role("button", name=name, exact=True)
                   for name in ("start", "stop", "restart", "rm")]
        start, stop = actions[:2]
        expect(start).to_be_disabled()
        stop.click()
        expect(panel).to_contain_text("stopping…", timeout=5_000)
        for action in actions:
            expect(action).to_be_disabled()
        page.screenshot(path=f"{shots}-panel-stopping.png")
        expect(panel).to_contain_text("Exited", timeout=30_000)
        expect(panel).not_to_contain_text("stopping…")
        expect(start).to_be_enabled()
        expect(stop).to_be_disabled()
        start.click()
        expect(panel).to_contain_text("Up ", timeout=30_000)
        expect(stop).to_be_enabled()
        panel.screenshot(path=f"{shots}-panel.png")
