"""JupyterLab and Notebook 7 in Chromium: one copy of the server and page helpers for both.

A lesson is served by a real Jupyter server on 127.0.0.1 (a token, a free port from
``tests/servers.py``), its kernels importing this checkout; Playwright drives Debian's
``chromium`` package through ``executable_path`` (no browser is ever downloaded). Both frontends
are JupyterLab's components (the same menus, cells, prompts and widget manager), so everything
but the server command and the notebook's URL is shared.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.lessons.helpers import NOTEBOOKS, checkout_environment, remove_lesson_containers
from tests.servers import free_port, stop_process

CHROMIUM = "/usr/bin/chromium"
TOKEN = "minidock-browser-test"
VIEWPORT = {"width": 1280, "height": 1000}  # a laptop's width: what the lessons' line limit is measured at


@dataclass(frozen=True)
class Frontend:
    name: str        # as a person calls it, and the pytest id
    module: str      # ``python -m MODULE`` starts its server
    app: str         # its application's config class
    tree: str        # the URL path a notebook is opened under

    def command(self, root: Path, port: int) -> list[str]:
        return [sys.executable, "-m", self.module, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
                f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}", "--allow-root",
                f"--{self.app}.news_url=", "--ServerApp.open_browser=False"]


JUPYTERLAB = Frontend("jupyterlab", "jupyterlab", "LabApp", "lab/tree")
NOTEBOOK7 = Frontend("notebook7", "notebook", "JupyterNotebookApp", "notebooks")
FRONTENDS = (JUPYTERLAB, NOTEBOOK7)


@dataclass(frozen=True)
class Served:
    frontend: Frontend
    url: str

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/{self.frontend.tree}/{name}?token={TOKEN}"

    def kernels_idle(self) -> bool:
        """Every kernel the server runs is idle (the REST API: the same for both frontends). A
        kernel still starting may make the listing answer 500 (seen once, under load): not yet."""
        try:
            with urllib.request.urlopen(f"{self.url}/api/kernels?token={TOKEN}", timeout=5) as answer:
                kernels = json.load(answer)
        except urllib.error.HTTPError as error:
            if error.code < 500:
                raise
            return False
        return bool(kernels) and all(k["execution_state"] == "idle" for k in kernels)


@contextmanager
def jupyter_server(frontend: Frontend, tmp_path: Path, lessons: list[str]) -> Iterator[Served]:
    """``frontend``'s server on 127.0.0.1 serving copies of ``lessons``; its containers are
    removed afterwards. Its settings are the defaults but two: every cell is kept in the page
    (``windowingMode: none``), so a locator finds a cell that is scrolled out of view, and no
    "get notified about Jupyter news?" toast lies over the cells (``fetchNews``; no request out)."""
    root = tmp_path / "notebooks"
    root.mkdir()
    for lesson in lessons:
        shutil.copy2(NOTEBOOKS / lesson, root / lesson)
    settings = tmp_path / "settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')
    env = {**checkout_environment(), "MINIDOCK_LESSONS_DIR": str(tmp_path / "lessons"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws")}
    log_path = tmp_path / f"{frontend.name}.log"
    port = free_port()
    with open(log_path, "wb") as log:
        server = subprocess.Popen(frontend.command(root, port), env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            served = Served(frontend, f"http://127.0.0.1:{port}")
            wait_until_serving(served, server, log_path)
            yield served
        finally:
            stop_process(server)
            remove_lesson_containers(tmp_path / "lessons")


def wait_until_serving(served: Served, server: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{served.url}/api/status?token={TOKEN}", timeout=2)
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log_path.read_text()[-3000:]) from None
            time.sleep(0.5)


@contextmanager
def chromium_page() -> Iterator[object]:
    """A page of Debian's Chromium, 1280 px wide."""
    from playwright.sync_api import sync_playwright
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("Debian's chromium is not installed: apt-get install chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport=VIEWPORT)
        finally:
            browser.close()


def open_notebook(page, served: Served, name: str) -> None:
    """Open ``name`` and wait for its kernel to be ready."""
    page.goto(served.notebook_url(name))
    page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content", timeout=60_000)
    wait_for(served.kernels_idle, 120, "the kernel did not start")


def wait_for(condition, timeout: float, failure: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.3)


def busy_prompts(page) -> bool:
    return "[*]" in " ".join(page.locator(".jp-InputPrompt").all_inner_texts())


def run_all_and_wait(page, timeout: float = 180) -> None:
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    page.wait_for_timeout(1000)
    wait_for(lambda: not busy_prompts(page), timeout, "the lesson did not finish running")
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
    wait_for(lambda: not busy_prompts(page), 60, "the new cell did not finish running")


# How many columns of a code cell's line are in view without scrolling: from the left of a
# line's first character to the right of the editor's visible area, in the width of one of that
# (ASCII, not indented) line's characters.
VISIBLE_COLUMNS_JS = """
cell => {
    const scroller = cell.querySelector('.cm-scroller');
    const line = [...cell.querySelectorAll('.cm-line')].find(l => /^[!-~][ -~]{3,}$/.test(l.textContent));
    const range = document.createRange();
    range.selectNodeContents(line);
    const glyphs = range.getBoundingClientRect();
    const right = scroller.getBoundingClientRect().left + scroller.clientWidth;
    return Math.floor((right - glyphs.left) / (glyphs.width / line.textContent.length));
}
"""


def visible_code_columns(page) -> int:
    """The columns of the first code cell that show without scrolling sideways."""
    return page.locator(".jp-Notebook .jp-CodeCell .cm-editor").first.evaluate(VISIBLE_COLUMNS_JS)
