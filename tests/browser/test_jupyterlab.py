"""A lesson in a real JupyterLab, driven by Chromium: run all, then click the widgets.

Playwright drives Debian's ``chromium`` package through ``executable_path`` (no browser is ever
downloaded). Screenshots are saved under the test's tmp dir (``lesson-*.png``) for a person to
look at; the assertions read what the page shows.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lessons.helpers import NOTEBOOKS, checkout_environment

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
LESSON = "01-what-is-an-image.ipynb"
TOKEN = "minidock-browser-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 serving a copy of one lesson; its kernels import this checkout."""
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy2(NOTEBOOKS / LESSON, root / LESSON)
    port = free_port()
    settings = tmp_path / "lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')  # every cell in the page, not only those in view
    env = {**checkout_environment(), "MINIDOCK_LESSONS_DIR": str(tmp_path / "lessons"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    log = open(tmp_path / "jupyterlab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}", "--allow-root",
         "--LabApp.news_url=", "--ServerApp.open_browser=False"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "jupyterlab.log").read_text()[-3000:]) from None
            time.sleep(0.5)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        from tests.lessons.helpers import remove_lesson_containers
        remove_lesson_containers(tmp_path / "lessons")


def run_all_and_wait(page, timeout: float = 180) -> None:
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()
    page.wait_for_timeout(1000)
    deadline = time.monotonic() + timeout
    while "[*]" in " ".join(page.locator(".jp-InputPrompt").all_inner_texts()):
        assert time.monotonic() < deadline, "the lesson did not finish running"
        page.wait_for_timeout(500)
    assert "[ ]" not in " ".join(page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts())


def add_cell_and_run(page, source: str) -> None:
    """A new cell at the end, typed and run as a student would."""
    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.keyboard.press("Enter")
    page.keyboard.type(source)
    page.keyboard.press("Shift+Enter")
    page.wait_for_timeout(1000)
    deadline = time.monotonic() + 60
    while "[*]" in " ".join(page.locator(".jp-InputPrompt").all_inner_texts()):
        assert time.monotonic() < deadline
        page.wait_for_timeout(300)


def test_a_lesson_runs_and_its_widgets_respond_in_jupyterlab(jupyterlab, tmp_path):
    from playwright.sync_api import expect, sync_playwright
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Debian's chromium is not installed: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{jupyterlab}/lab/tree/{LESSON}?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        expect(page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle"))).to_be_visible(timeout=120_000)
        run_all_and_wait(page)
        assert not page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                                has_text="Traceback").count()

        page.screenshot(path=str(tmp_path / "lesson-after-run-all.png"), full_page=True)
        # the picture of the digests is drawn, not "<LayerGraph …>"
        picture = page.locator(".jp-RenderedSVG", has=page.locator("img, svg")).first
        picture.scroll_into_view_if_needed()
        expect(picture).to_be_visible()
        page.screenshot(path=str(tmp_path / "lesson-digests.png"))

        # the explorer: its title, then a click on busybox's one program shows its first bytes
        explorer = page.locator(".widget-vbox", has_text="A added, C changed, D deleted").first
        explorer.scroll_into_view_if_needed()
        expect(explorer).to_contain_text("busybox — 1 layer,")
        expect(explorer.locator("button", has_text="merged filesystem up to here")).to_be_visible()
        files = explorer.locator("select").nth(1)
        program = files.locator("option", has_text=re.compile(r"/bin/busybox$")).first.inner_text()
        files.select_option(label=program)
        expect(explorer).to_contain_text("ELF", timeout=15_000)
        explorer.screenshot(path=str(tmp_path / "lesson-explorer.png"))

        # the panel of a running container: stop, then start again
        add_cell_and_run(page, "%dock run -d --name browser-demo busybox sleep 600\n%dock panel browser-demo")
        panel = page.locator(".widget-vbox", has_text="on image busybox").filter(has_text="restart").last
        panel.scroll_into_view_if_needed()
        expect(panel).to_contain_text("on image busybox")
        expect(panel).to_contain_text("Up ")
        start = panel.get_by_role("button", name="start", exact=True)
        stop = panel.get_by_role("button", name="stop", exact=True)
        expect(start).to_be_disabled()
        stop.click()
        # "stopping…" lasts as long as the stop does: under proot (no PID 1 that ignores SIGTERM)
        # it can be gone before the page is looked at; tests/display checks it without a browser.
        expect(panel).to_contain_text(re.compile("stopping…|Exited"), timeout=15_000)
        page.screenshot(path=str(tmp_path / "lesson-panel-stopping.png"))
        expect(panel).to_contain_text("Exited", timeout=30_000)
        expect(start).to_be_enabled()
        start.click()
        expect(panel).to_contain_text("Up ", timeout=30_000)
        panel.screenshot(path=str(tmp_path / "lesson-panel.png"))
        browser.close()
