from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell


@pytest.fixture
def ip(busybox_engine):
    """A real IPython shell with the extension loaded and pointed at a fresh home."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "minidock_magic")
    shell.run_line_magic("config", f"DockMagics.home = {str(busybox_engine.home)!r}")
    yield shell
    shell.run_line_magic("config", "DockMagics.home = ''")
