"""%dock through a real IPython shell: the CLI's grammar, rich results, one-line errors."""

from __future__ import annotations

import re

from minidock_magic.diagrams import LayerGraph
from minidock_magic.images.writer import layer_descriptor, store_image, store_tree_layer
from minidock_magic.oci import History, Reference, rfc3339
from minidock_magic.magics import ErrorLine, JSONResult
from minidock_magic.results import ImageList


def test_images_returns_a_rich_object(ip):
    images = ip.run_line_magic("dock", "images")
    assert isinstance(images, ImageList) and images.rows[0].repository == "busybox"
    html = images._repr_html_()
    assert "<table" in html and "busybox" in html and "SHARED SIZE" in html
    assert "busybox" in str(images)


def test_inspect_is_json(ip):
    result = ip.run_line_magic("dock", "image inspect busybox")
    assert isinstance(result, JSONResult) and result.data[0]["RepoTags"] == ["busybox:latest"]


def test_bad_input_is_one_error_line_not_a_traceback(ip, capsys):
    for line in ("images --bogus", "history nothere", "tag busybox 'Bad Name'", "run", "'unclosed"):
        result = ip.run_line_magic("dock", line)
        assert isinstance(result, ErrorLine), line
        assert "\n" not in result.message and "Traceback" not in result.message
        assert "color" in result._repr_html_()


def test_help_prints_usage(ip, capsys):
    assert ip.run_line_magic("dock", "--help") is None
    out = capsys.readouterr().out
    assert "images" in out and "explore" in out and "panel" in out  # notebook-only, same grammar


def test_tag_and_lines_are_printed(ip, capsys):
    assert ip.run_line_magic("dock", "tag busybox me/box:1") is None
    assert ip.run_line_magic("dock", "rmi me/box:1") is None
    assert capsys.readouterr().out.strip() == "Untagged: me/box:1"


def child_of_busybox(engine, tmp_path, name: str) -> None:
    """busybox plus one layer, without running anything: the base layer is shared."""
    tree = tmp_path / name
    tree.mkdir()
    (tree / name).write_text(name)
    layer = store_tree_layer(engine.content, tree, compression="gzip", epoch=0)
    base = engine.image("busybox")
    config = base.config.derive(diff_id=layer.diff_id, created=rfc3339(0),
                                history=History(created_by=f"COPY {name} /"))
    target = store_image(engine.content, config, [*base.layers, layer_descriptor(layer)])
    engine.names.set(Reference.parse(f"{name}:1"), target)


def test_graph_draws_shared_layers_once(ip, busybox_engine, tmp_path):
    child_of_busybox(busybox_engine, tmp_path, "app")
    child_of_busybox(busybox_engine, tmp_path, "web")
    graph = ip.run_line_magic("dock", "graph")
    assert isinstance(graph, LayerGraph)
    dot = graph.to_dot()
    layer_nodes = re.findall(r'^  "(layer:[0-9a-f]+)" \[label', dot, re.M)
    assert len(layer_nodes) == 3  # busybox's layer once, plus one layer per child
    [shared] = graph.shared_layers()
    assert "shared by 3 images" in shared.label
    edges_up_from_shared = [e for e in graph.edges if e[0] == shared.id]  # edges point up the stack
    assert len(edges_up_from_shared) == 3  # busybox itself, and each child's own layer
    svg = graph._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "busybox:latest" in svg
    assert graph.to_dot() == ip.run_line_magic("dock", "graph").to_dot()  # same state, same picture


def test_config_settings_choose_the_home(ip, busybox_engine):
    magics = ip.magics_manager.registry["DockMagics"]
    assert magics.engine.home == busybox_engine.home


def test_explore_returns_the_image_explorer_widget(ip):
    from minidock_magic.display.explorer import ImageExplorer
    explorer = ip.run_line_magic("dock", "explore busybox")
    assert isinstance(explorer, ImageExplorer) and explorer.rows
    assert isinstance(ip.run_line_magic("dock", "explore"), ErrorLine)
    assert isinstance(ip.run_line_magic("dock", "explore nothere"), ErrorLine)
    too_many = ip.run_line_magic("dock", "explore busybox busybox")
    assert isinstance(too_many, ErrorLine) and "unrecognized arguments" in too_many.message
    assert isinstance(ip.run_line_magic("dock", "panel"), ErrorLine)


def test_registry_graph_shows_shared_blobs_once(busybox_engine, tmp_path):
    from minidock_magic.registry import RegistryServer
    with RegistryServer(tmp_path / "registry") as registry:
        for repo in ("alice/box", "bob/box"):
            busybox_engine.tag("busybox", f"{registry.address}/{repo}:1")
            busybox_engine.push(f"{registry.address}/{repo}:1")
        graph = registry.graph()
    repositories = [n for n in graph.nodes if n.kind == "repository"]
    assert sorted(n.label.split("\n")[0] for n in repositories) == ["alice/box", "bob/box"]
    layer = busybox_engine.image("busybox").layers[0].digest
    [blob] = [n for n in graph.nodes if n.kind == "blob" and layer.encoded[:12] in n.label]
    assert blob.shared and "in 2 repositories" in blob.label
    assert sum(1 for edge in graph.edges if edge[0] == blob.id) == 2  # blobs below, repositories above
    assert "<svg" in graph._repr_svg_()


def test_graph_puts_a_containers_writable_layer_on_its_image(ip, busybox_engine):
    ip.run_line_magic("dock", "create --name box busybox true")
    graph = ip.run_line_magic("dock", "graph busybox")
    [container] = [n for n in graph.nodes if n.kind == "container"]
    assert "box" in container.label and "writable layer" in container.label
    image = busybox_engine.image("busybox")
    assert (f"image:{image.digest.encoded[:16]}", container.id, "dashed") in graph.edges  # on top
    assert "container box" in graph._repr_svg_()


def test_exec_output_reaches_the_cell(ip, busybox_engine, capsys):
    ip.run_line_magic("dock", "run -d --name box busybox sleep 1000")
    try:
        capsys.readouterr()
        ip.run_line_magic("dock", "exec box echo inside")
        assert "inside" in capsys.readouterr().out
    finally:
        ip.run_line_magic("dock", "rm -f box")


def test_isolation_is_a_notebook_setting(ip, tmp_path, capsys):
    """%config DockMagics.isolation = 'proot' (what errors advise) reaches every run; for root it is
    labelled on every run, and its home copies layers (proot cannot mount overlay)."""
    import os
    import shutil

    import pytest
    from traitlets import TraitError

    if shutil.which("proot") is None:
        pytest.skip("proot is not installed (apt-get install proot)")
    with pytest.raises(TraitError):
        ip.magics_manager.registry["DockMagics"].isolation = "chroot"
    try:
        ip.run_line_magic("config", "DockMagics.isolation = 'proot'")
        ip.run_line_magic("config", f"DockMagics.home = {str(tmp_path / 'proot-home')!r}")
        ip.run_line_magic("dock", "bootstrap")
        capsys.readouterr()
        for _ in range(2):
            ip.run_line_magic("dock", "run --rm busybox echo hi")
            out, err = capsys.readouterr()
            assert "hi" in out
            assert err.count("not a security boundary") == (1 if os.geteuid() == 0 else 0)
        inspect = ip.run_line_magic("dock", "run -d --name p busybox true")
        assert ip.magics_manager.registry["DockMagics"].engine.containers.get("p").isolation == "proot", inspect
    finally:
        ip.run_line_magic("config", "DockMagics.isolation = ''")


def test_login_reads_a_variable_and_keeps_it_out_of_the_cell(ip, tmp_path, capsys):
    from minidock_magic.registry import RegistryServer, add_user
    accounts = tmp_path / "accounts"
    add_user(accounts, "alice", "alice-secret")
    with RegistryServer(tmp_path / "registry", auth_mode="private", htpasswd=accounts) as registry:
        ip.user_ns["ALICE_PASSWORD"] = "alice-secret"
        result = ip.run_line_magic("dock", f"login -u alice --password-from ALICE_PASSWORD {registry.address}")
        out = capsys.readouterr()
        assert result is None and "Login Succeeded" in out.out, (result, out)
        assert "alice-secret" not in out.out + out.err and "insecure" not in out.err
        missing = ip.run_line_magic("dock", f"login -u alice --password-from NOPE {registry.address}")
        assert isinstance(missing, ErrorLine) and "variable" in missing.message


def test_login_without_a_password_asks_the_kernel(ip, monkeypatch, tmp_path, capsys):
    """getpass is what ipykernel routes to the notebook's password box."""
    from minidock_magic.registry import RegistryServer, add_user
    accounts = tmp_path / "accounts"
    add_user(accounts, "bob", "bob-secret")
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="", stream=None: asked.append(prompt) or "bob-secret")
    with RegistryServer(tmp_path / "registry", auth_mode="private", htpasswd=accounts) as registry:
        assert ip.run_line_magic("dock", f"login -u bob {registry.address}") is None
    assert asked == ["Password: "] and "Login Succeeded" in capsys.readouterr().out


def test_push_trace_is_grouped_by_step_with_short_digests(ip, busybox_engine, tmp_path, capsys):
    from minidock_magic.registry import RegistryServer
    with RegistryServer(tmp_path / "registry") as registry:
        ip.run_line_magic("dock", f"tag busybox {registry.address}/me/box:1")
        capsys.readouterr()
        ip.run_line_magic("dock", f"push --trace {registry.address}/me/box:1")
    out = capsys.readouterr().out
    trace = [line for line in out.splitlines() if "digest: sha256:" not in line]  # docker's last line
    assert "> HEAD" not in out and not re.search(r"[0-9a-f]{64}", "\n".join(trace)), out
    layer = busybox_engine.image("busybox").layers[0].digest.short
    check_line = next(line for line in out.splitlines() if line.lstrip().startswith("check:"))
    assert "HEAD" in check_line and "404" in check_line and layer in check_line
    assert any(line.lstrip().startswith("manifest:") for line in out.splitlines())
    assert f"{layer}: Pushed" in out  # docker's status lines still pass through
