"""The image commands through the Python API, on the bootstrapped busybox."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from minidock_magic.errors import Conflict, DigestMismatch, InvalidArgument, NotFound
from minidock_magic.facade import Minidock
from minidock_magic.oci import Digest, Reference


def test_two_bootstraps_in_two_homes_give_the_same_digest(tmp_path):
    first = Minidock(tmp_path / "a").bootstrap()
    second = Minidock(tmp_path / "b").bootstrap()
    assert first.digest == second.digest and first.id == second.id
    assert first.names == (Reference.parse("busybox"),)
    assert len(first.layers) == 1


def test_bootstrap_is_the_same_for_every_user(tmp_path, monkeypatch):
    """Each student of a class bootstraps their own busybox; the layer must not record whose files
    they were (as an unprivileged user: that user's uid), or no two students share it."""
    from minidock_magic.images import bootstrap

    make_tree = bootstrap.busybox_tree

    def as_a_student(root, busybox):
        version = make_tree(root, busybox)
        for path in [root, *root.rglob("*")]:  # what an unprivileged user's tree looks like
            os.chown(path, 1234, 1234, follow_symlinks=False)
        return version

    expected = Minidock(tmp_path / "root").bootstrap()
    monkeypatch.setattr(bootstrap, "busybox_tree", as_a_student)
    student = Minidock(tmp_path / "student").bootstrap()
    assert student.digest == expected.digest
    layer = Minidock(tmp_path / "student").content.open(student.layers[0].digest)
    with tarfile.open(fileobj=layer, mode="r|gz") as tar:
        assert {(m.uid, m.gid) for m in tar} == {(0, 0)}


def test_busybox_is_made_on_first_use(engine):
    image = engine.image("busybox")
    assert image.names[0].familiar == "busybox:latest"
    assert engine.image("busybox:latest").digest == image.digest
    assert engine.image(image.id.short).digest == image.digest
    assert engine.image(str(image.id)).digest == image.digest
    assert engine.image(f"busybox@{image.digest}").digest == image.digest


def test_bootstrap_rootfs_has_busybox_and_applets(busybox_engine, tmp_path):
    root = busybox_engine.unpack("busybox", tmp_path / "rootfs")
    assert (root / "bin/busybox").read_bytes() == open("/bin/busybox", "rb").read()
    assert os.readlink(root / "bin/sh") == "busybox"
    assert (root / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert "root:x:0:0" in (root / "etc/passwd").read_text()


def test_tag_and_rmi_untag_then_delete(busybox_engine):
    engine = busybox_engine
    base = engine.image("busybox")
    engine.tag("busybox", "me/box:1")
    engine.tag("busybox", "localhost:5000/team/box:2")
    assert {n.familiar for n in engine.image("me/box:1").names} == {
        "busybox:latest", "me/box:1", "localhost:5000/team/box:2"}
    with pytest.raises(Conflict, match="multiple repositories"):
        engine.rmi(base.id.short)
    assert engine.rmi("me/box:1") == ["Untagged: me/box:1"]
    assert engine.rmi("localhost:5000/team/box:2") == ["Untagged: localhost:5000/team/box:2"]
    blobs_before = {b.digest for b in engine.content.walk()}
    report = engine.rmi("busybox")
    assert report[0] == "Untagged: busybox:latest"
    assert {line.split(": ")[1] for line in report[1:]} == {str(d) for d in blobs_before}
    assert list(engine.content.walk()) == []
    with pytest.raises(NotFound):
        engine.rmi("me/box:1")


def test_bad_input_is_one_line_and_changes_nothing(busybox_engine):
    engine = busybox_engine
    index_before = (engine.layout.oci / "index.json").read_bytes()
    for bad in ("UPPER", "a b", "x:", ""):
        with pytest.raises(InvalidArgument) as info:
            engine.tag("busybox", bad)
        assert "\n" not in str(info.value)
    with pytest.raises(NotFound, match="No such image: nothere"):
        engine.tag("nothere", "x:1")
    assert (engine.layout.oci / "index.json").read_bytes() == index_before


def test_inspect_looks_like_docker(busybox_engine):
    data = busybox_engine.image_inspect("busybox")
    image = busybox_engine.image("busybox")
    assert data["Id"] == str(image.id)
    assert data["RepoTags"] == ["busybox:latest"]
    assert data["RepoDigests"] == [f"busybox@{image.digest}"]
    assert data["RootFS"]["Layers"] == [str(d) for d in image.config.diff_ids]
    assert data["Config"]["Cmd"] == ["sh"]
    assert data["Os"] == "linux"


def test_history_rows(busybox_engine):
    rows = busybox_engine.history("busybox").rows
    assert len(rows) == 1 and rows[0].created_by.startswith("minidock bootstrap")
    assert rows[0].digest == busybox_engine.image("busybox").layers[0].digest


def test_save_then_load_into_fresh_home(busybox_engine, tmp_path):
    archive = io.BytesIO()
    busybox_engine.save(["busybox"], archive)
    names = tarfile.open(fileobj=io.BytesIO(archive.getvalue())).getnames()
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= set(names)
    other = Minidock(tmp_path / "other")
    archive.seek(0)
    assert other.load(archive) == ["Loaded image: busybox:latest"]
    assert other.image("busybox").digest == busybox_engine.image("busybox").digest
    assert other.system_check().ok


def test_save_is_reproducible(busybox_engine):
    one, two = io.BytesIO(), io.BytesIO()
    busybox_engine.save(["busybox"], one)
    busybox_engine.save(["busybox"], two)
    assert one.getvalue() == two.getvalue()


def test_load_of_garbage_changes_nothing(busybox_engine):
    before = sorted(b.digest for b in busybox_engine.content.walk())
    with pytest.raises(InvalidArgument):
        busybox_engine.load(io.BytesIO(b"this is not a tar"))
    assert sorted(b.digest for b in busybox_engine.content.walk()) == before


def test_load_with_wrong_diff_id_is_refused_and_store_unchanged(busybox_engine, tmp_path):
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    wrong = Digest.of(b"not the layer")
    config = ('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}'
              % wrong).encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for name, data in (("layer.tar", layer.getvalue()), ("c.json", config),
                           ("manifest.json", b'[{"Config":"c.json","RepoTags":["x:1"],"Layers":["layer.tar"]}]')):
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    before = sorted(b.digest for b in busybox_engine.content.walk())
    archive.seek(0)
    with pytest.raises(DigestMismatch, match="diff_id"):
        busybox_engine.load(archive)
    assert sorted(b.digest for b in busybox_engine.content.walk()) == before
    with pytest.raises(NotFound):
        busybox_engine.image("x:1")


def test_import_directory_and_tarball(engine, tmp_path):
    tree = tmp_path / "tree"
    (tree / "app").mkdir(parents=True)
    (tree / "app/hello.txt").write_text("hello\n")
    os.environ["SOURCE_DATE_EPOCH"] = "1700000000"
    try:
        first = engine.import_image(tree, "mine:1", changes=['CMD ["cat", "/app/hello.txt"]'])
        tarball = tmp_path / "tree.tar"
        with tarfile.open(tarball, "w") as tar:
            tar.add(tree / "app", arcname="app")
        second = engine.import_image(tarball, "mine:2", message="from a tarball")
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]
    assert first.config.run["Cmd"] == ["cat", "/app/hello.txt"]
    assert first.config.diff_ids == second.config.diff_ids  # same files -> same layer
    assert engine.history("mine:2").rows[0].comment == "from a tarball"
    root = engine.unpack("mine:2", tmp_path / "out")
    assert (root / "app/hello.txt").read_text() == "hello\n"


def test_system_check_finds_a_flipped_byte(busybox_engine):
    assert busybox_engine.system_check().ok
    layer = busybox_engine.image("busybox").layers[0]
    path = busybox_engine.content.path(layer.digest)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = busybox_engine.system_check()
    assert not report.ok and report.corrupt == [layer.digest]
    assert f"corrupt: {layer.digest}" in str(report)


def test_system_check_reports_missing_and_dangling(busybox_engine):
    engine = busybox_engine
    stray = engine.content.put_bytes(b"nobody needs me").digest
    config = engine.image("busybox").manifest.config.digest
    os.unlink(engine.content.path(config))
    report = engine.system_check()
    assert report.missing.keys() == {config}
    assert report.dangling == [stray]


def test_prune_frees_only_unreferenced(busybox_engine):
    engine = busybox_engine
    stray = engine.content.put_bytes(b"x" * 100).digest
    report = engine.system_prune()
    assert report.deleted == [stray] and report.freed == 100
    assert engine.system_check().ok and engine.system_check().dangling == []


def test_df_counts_shared_layers_once(busybox_engine, tmp_path):
    engine = busybox_engine
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_text("x")
    engine.import_image(tree, "other:1")
    engine.tag("busybox", "copy:1")  # same image, another name: not a second image
    usage = engine.system_df()
    assert usage.images == 2
    assert usage.total == sum(b.size for b in engine.content.walk())
    assert usage.unused == 0
    assert usage.shared == 0  # the two images share no blob


def test_bootstrap_falls_back_to_the_host_shell_without_busybox(tmp_path, monkeypatch):
    from minidock_magic.images import bootstrap
    monkeypatch.setattr(bootstrap, "find_busybox", lambda: None)
    engine = Minidock(tmp_path / "home")
    image = engine.bootstrap()
    assert "host shell" in image.config.history[0].created_by
    root = engine.unpack("busybox", tmp_path / "rootfs")
    shell = os.path.realpath("/bin/sh")
    assert (root / shell.lstrip("/")).read_bytes() == open(shell, "rb").read()
    libc = [p for p in root.rglob("libc.so*")]
    assert libc, "the shell's libraries come along"
    out = io.BytesIO()
    from minidock_magic.containers.options import RunOptions
    _, code = engine.containers.run("busybox", RunOptions(command=["/bin/sh", "-c", "echo runs"]),
                                    stdout=out, stderr=out)
    assert (code, out.getvalue()) == (0, b"runs\n")


def test_a_parsed_image_is_reused_but_its_names_are_read_every_time(busybox_engine):
    # The manifest and config are parsed once per engine (a digest names the same bytes for
    # ever); names come from the store on every lookup, so tag and rmi show at once, here and
    # in another engine on the same home.
    engine, other = busybox_engine, Minidock(busybox_engine.home)
    first = engine.image("busybox")
    assert engine.image("busybox").config is first.config
    other.tag("busybox", "mine:1")
    assert {r.familiar for r in engine.image("busybox").names} == {"busybox:latest", "mine:1"}
    other.rmi("mine:1")
    with pytest.raises(NotFound):
        engine.image("mine:1")
    assert [r.familiar for r in engine.image(str(first.id)).names] == ["busybox:latest"]


def test_naming_an_image_again_leaves_the_index_alone(busybox_engine):
    """An up-to-date re-pull or a repeated tag rewrites (and fsyncs) nothing; a real change does,
    and so does a name that takes over an untagged entry of the same image."""
    names = busybox_engine.names
    index = busybox_engine.layout.oci / "index.json"
    busybox, name = Reference.parse("busybox"), Reference.parse("me/app:1")
    target = names.get(busybox)
    names.set(name, target)
    before = os.stat(index)
    assert names.set(name, target) == target
    assert names.set(busybox, target) == target
    after = os.stat(index)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    for each in (busybox, name):
        names.remove(each, target.digest)
    names.keep_untagged(target)
    assert [e.reference for e in names.entries()] == [None]
    untagged = index.read_bytes()
    assert names.set(name, target) is None
    assert [e.reference for e in names.entries()] == [name]
    assert index.read_bytes() != untagged  # (not the inode: the writes between freed and reused it)
