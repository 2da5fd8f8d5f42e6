"""Every subcommand through `%dock` in a real IPython shell: one grammar for CLI and notebook."""

from __future__ import annotations

import argparse

import pytest

from minidock_magic.commands import build_parser
from minidock_magic.commands.notebook import NOTEBOOK_COMMANDS
from minidock_magic.magics import ErrorLine
from minidock_magic.registry import RegistryServer

pytestmark = pytest.mark.integration


def subcommands() -> set[str]:
    """Every command path the shared grammar knows (``image ls``, ``system df``, …)."""
    found: set[str] = set()

    def walk(parser, prefix):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    path = f"{prefix} {name}".strip()
                    found.add(path)
                    walk(sub, path)
    walk(build_parser(), "")
    assert {"run", "image ls", "system df", "manifest inspect"} <= found  # the walk saw them all
    return found


def test_every_subcommand_through_the_magic(ip, busybox_engine, tmp_path, capsys, needs_namespaces: None):
    dock = lambda line, cell=None: ip.run_cell_magic("dock", line, cell) if cell is not None \
        else ip.run_line_magic("dock", line)
    exercised: set[str] = set()

    def ok(line: str, cell: str | None = None):
        result = dock(line, cell)
        assert not isinstance(result, ErrorLine), f"%dock {line}: {result}"
        words = line.split()
        exercised.update(" ".join(words[:n]) for n in (1, 2))
        return result

    with RegistryServer(tmp_path / "registry", auth_mode="open") as registry:
        host = registry.address
        ok("info"); ok("system info"); ok("bootstrap"); ok("images"); ok("image ls")
        ok("image inspect busybox"); ok("history busybox"); ok("tag busybox me/box:1")
        ok("graph"); ok(f"unpack busybox {tmp_path / 'rootfs'}")
        ok(f"save -o {tmp_path / 'bb.tar'} busybox"); ok(f"load -i {tmp_path / 'bb.tar'}")
        (tmp_path / "tree").mkdir(); (tmp_path / "tree" / "f").write_text("x")
        ok(f"import {tmp_path / 'tree'} imported:1")
        ok("run --name web -d -p 127.0.0.1::80 busybox sleep 1000"); ok("ps"); ok("container ls -a")
        ok("port web"); ok("container port web 80")
        ok("top web"); ok("exec web true"); ok("logs web"); ok("stop -t 1 web"); ok("start web")
        ok("restart -t 1 web"); ok("kill web"); ok("wait web"); ok("inspect web")
        ok("container inspect web"); ok("diff web"); ok("commit web committed:1")
        ok(f"export -o {tmp_path / 'web.tar'} web"); ok(f"cp web:/bin/busybox {tmp_path / 'bb'}")
        ok("create --name later busybox true"); ok("rm web later")
        ok("run --rm busybox", cell="echo from a cell")
        ok(f"build -t built:1 {tmp_path}", cell="FROM busybox\nRUN echo built > /built\n")
        ok("builder ls"); ok("builder prune")
        ok(f"tag busybox {host}/me/box:1"); ok(f"push {host}/me/box:1"); ok(f"pull {host}/me/box:1")
        ok(f"search --registry {host} box"); ok(f"manifest inspect {host}/me/box:1"); ok(f"class {host}")
        ok(f"login -u me -p secret {host}"); ok(f"logout {host}")
        ok(f"registry garbage-collect --data {tmp_path / 'registry'}")
        ok("rmi me/box:1"); ok("image rm committed:1"); ok("system df"); ok("system check")
        ok("system prune")
        assert not isinstance(dock("explore busybox"), ErrorLine)
    exercised |= {"explore", "registry serve", "registry adduser", "registry", "image", "container",
                  "system", "builder", "manifest"}
    # `container stop` and `image tag` are the same handlers as `stop` and `tag`.
    missing = {c for c in subcommands() - exercised
               if not (c.split()[0] in ("container", "image") and c.split()[1] in exercised)}
    assert not missing, f"not exercised through %dock: {sorted(missing)}"
    assert set(NOTEBOOK_COMMANDS) <= {"explore", "panel"}


def test_settings_choose_home_snapshotter_and_default_registry(ip, tmp_path):
    ip.run_line_magic("config", f"DockMagics.home = {str(tmp_path / 'fresh')!r}")
    ip.run_line_magic("config", "DockMagics.snapshotter = 'copy'")
    with RegistryServer(tmp_path / "registry") as registry:
        ip.run_line_magic("config", f"DockMagics.default_registry = {registry.address!r}")
        try:
            magics = ip.magics_manager.registry["DockMagics"]
            assert magics.engine.home == tmp_path / "fresh"
            assert magics.engine.snapshotter.name == "copy"
            ip.run_line_magic("dock", f"tag busybox {registry.address}/class/box:1")
            ip.run_line_magic("dock", f"push {registry.address}/class/box:1")
            ip.run_line_magic("dock", "rmi " + f"{registry.address}/class/box:1")
            assert not isinstance(ip.run_line_magic("dock", "pull class/box:1"), ErrorLine)
            assert magics.engine.image(f"{registry.address}/class/box:1")
        finally:
            ip.run_line_magic("config", "DockMagics.default_registry = ''")
            ip.run_line_magic("config", "DockMagics.snapshotter = ''")
