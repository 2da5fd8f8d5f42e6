"""Builds without RUN: COPY/ADD/WORKDIR layers are written straight from the context, and
metadata steps only touch the config. No container is involved, so these run anywhere."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from minidock_magic.build.cache import BuildCache
from minidock_magic.commands import Parser, Streams
from minidock_magic.commands import build as build_command
from minidock_magic.errors import InvalidArgument, NotFound

from .conftest import tree_listing


def layer_names(engine, image, index: int = -1) -> list[str]:
    with engine.content.open(image.layers[index].digest) as blob, \
            tarfile.open(fileobj=blob, mode="r|*") as tar:
        return [member.name for member in tar]


def unpacked(engine, image, tmp_path: Path) -> Path:
    return engine.unpack(str(image.digest), tmp_path / f"rootfs-{image.id.short}")


def test_copy_and_metadata_steps_give_one_layer_per_copy(busybox_engine, context, do_build, epoch,
                                                         tmp_path) -> None:
    ctx = context({"hello.txt": "hi\n", "conf/a.conf": "a", "conf/b.conf": "b"})
    built = do_build(ctx, "FROM busybox\nENV A=1\nCOPY hello.txt /app/\nLABEL x=y\nCOPY conf /etc/app\n"
                     "CMD [\"cat\", \"/app/hello.txt\"]\n", tags=["copies:1"])
    image = built.image
    base = busybox_engine.image("busybox")
    assert len(image.layers) == len(base.layers) + 2
    history = image.config.data["history"][len(base.config.history):]
    assert [(h["created_by"], h.get("empty_layer", False)) for h in history] == [
        ("ENV A=1", True), ("COPY hello.txt /app/", False), ('LABEL x="y"', True),
        ("COPY conf /etc/app", False), ('CMD ["cat","/app/hello.txt"]', True)]
    assert all(h["created"] == "2023-11-14T22:13:20Z" for h in history)
    assert layer_names(busybox_engine, image, -2) == ["app", "app/hello.txt"]
    assert layer_names(busybox_engine, image) == ["etc", "etc/app", "etc/app/a.conf", "etc/app/b.conf"]
    assert busybox_engine.image("copies:1").digest == image.digest
    assert "Successfully tagged copies:1" in built.output


def test_copy_into_an_existing_directory_hides_nothing_below(busybox_engine, context, do_build,
                                                              tmp_path) -> None:
    ctx = context({"etc/extra.conf": "x"})
    image = do_build(ctx, "FROM busybox\nCOPY etc/ /etc/\n").image
    root = unpacked(busybox_engine, image, tmp_path)
    assert (root / "etc/extra.conf").read_text() == "x"
    assert (root / "etc/passwd").is_file() and (root / "etc/group").is_file()
    lower = tree_listing(unpacked(busybox_engine, busybox_engine.image("busybox"), tmp_path))
    assert tree_listing(root)["etc"] == lower["etc"]  # the layer's /etc entry changes nothing


def test_destination_symlinks_are_followed_inside_the_image(busybox_engine, context, do_build,
                                                             tmp_path) -> None:
    ctx = context({"layout/lib": "->usr/lib", "layout/usr/lib/.keep": "", "x.so": "elf"})
    image = do_build(ctx, "FROM busybox\nCOPY layout/ /\nCOPY x.so /lib/\n").image
    root = unpacked(busybox_engine, image, tmp_path)
    assert (root / "lib").is_symlink()
    assert (root / "usr/lib/x.so").read_text() == "elf"
    assert layer_names(busybox_engine, image) == ["usr", "usr/lib", "usr/lib/x.so"]


def test_copy_modes_owners_and_destinations(busybox_engine, context, do_build, tmp_path) -> None:
    ctx = context({"run.sh": "#!/bin/sh\n", "data/a": "a", "data/sub/b": "b", "link": "->run.sh"})
    (ctx / "run.sh").chmod(0o750)
    (ctx / "data").chmod(0o700)
    image = do_build(ctx, "FROM busybox\nWORKDIR /srv\nCOPY run.sh .\nCOPY data data\n"
                     "COPY --chown=nobody data/a /owned/a\nCOPY --chmod=0600 run.sh link /private/\n"
                     "COPY run.sh /renamed\n").image
    files = tree_listing(unpacked(busybox_engine, image, tmp_path))
    assert files["srv/run.sh"][:4] == ("file", "0o750", 0, 0)
    assert files["srv/data"][:2] == ("dir", "0o755")  # a new destination directory is 0755
    assert files["srv/data/sub/b"][-1] == b"b"
    assert files["owned"][2:] == (65534, 65534) and files["owned/a"][2:4] == (65534, 65534)
    assert files["private/run.sh"][1] == "0o600"
    assert files["private/link"][:2] == ("file", "0o600")  # a symlink source is followed
    assert files["renamed"][1] == "0o750"


def test_workdir_makes_a_layer_only_when_the_directory_is_missing(busybox_engine, do_build) -> None:
    image = do_build(None, "FROM busybox\nWORKDIR /etc\nWORKDIR /srv/app\n").image
    steps = image.config.data["history"][-2:]
    assert steps[0].get("empty_layer") and not steps[1].get("empty_layer")
    assert layer_names(busybox_engine, image) == ["srv", "srv/app"]
    assert image.config.run["WorkingDir"] == "/srv/app"


def test_add_extracts_a_local_tar_safely(busybox_engine, context, do_build, tmp_path) -> None:
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w:gz") as tar:
        data = b"inside\n"
        member = tarfile.TarInfo("pkg/file.txt")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
        evil = tarfile.TarInfo("../../escape.txt")
        tar.addfile(evil, io.BytesIO(b""))
    ctx = context({"pkg.tar.gz": payload.getvalue(), "plain.txt": "plain"})
    with pytest.raises(InvalidArgument, match=r"^Dockerfile:2: ADD failed: .*\.\."):
        do_build(ctx, "FROM busybox\nADD pkg.tar.gz /opt/\n")
    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w:gz") as tar:
        member = tarfile.TarInfo("pkg/file.txt")
        member.size = 7
        tar.addfile(member, io.BytesIO(b"inside\n"))
    (ctx / "pkg.tar.gz").write_bytes(good.getvalue())
    image = do_build(ctx, "FROM busybox\nADD pkg.tar.gz plain.txt /opt/\n").image
    root = unpacked(busybox_engine, image, tmp_path)
    assert (root / "opt/pkg/file.txt").read_text() == "inside\n"
    assert (root / "opt/plain.txt").read_text() == "plain"


@pytest.mark.parametrize(("dockerfile", "error", "message"), [
    ("FROM busybox\n\nCOPY missing.txt /x\n", NotFound,
     "Dockerfile:3: COPY failed: missing.txt: not found in the build context"),
    ("FROM busybox\nCOPY secret.txt /x\n", NotFound, "Dockerfile:2: COPY failed: secret.txt: not found"),
    ("FROM busybox\nCOPY a.txt secret.txt /x\n", NotFound, "Dockerfile:2: COPY failed: secret.txt"),
    ("FROM busybox\nCOPY a.txt b.txt /x\n", InvalidArgument,
     "Dockerfile:2: COPY failed: when copying more than one source, the destination must be a directory"),
    ("FROM busybox\nADD https://example.org/x.tgz /x\n", InvalidArgument,
     "Dockerfile:2: ADD: https://example.org/x.tgz: ADD from a URL needs the network"),
    ("FROM busybox\nCOPY --from=later a /\nFROM busybox AS later\n", InvalidArgument,
     "Dockerfile:2: COPY failed: --from=later refers to a later stage"),
    ("FROM busybox\nCOPY --chown=nosuchuser a.txt /\n", InvalidArgument,
     "Dockerfile:2: COPY failed: --chown=nosuchuser: no user 'nosuchuser'"),
    ("FROM busybox\nCOPY a.txt /etc/passwd/x\n", InvalidArgument,
     "Dockerfile:2: COPY failed: /etc/passwd is not a directory in the image"),
])
def test_copy_errors_name_the_line_and_tag_nothing(busybox_engine, context, do_build, dockerfile,
                                                    error, message) -> None:
    ctx = context({"a.txt": "a", "b.txt": "b", "secret.txt": "pw", ".dockerignore": "secret.txt\n"})
    with pytest.raises(error) as raised:
        do_build(ctx, dockerfile, tags=["never:1"])
    assert str(raised.value).startswith(message)
    assert not any(str(n) == "docker.io/library/never:1" for e in [busybox_engine]
                   for n in (entry.reference for entry in e.names.entries()))


def test_copy_without_a_context_says_what_to_do(do_build) -> None:
    with pytest.raises(InvalidArgument, match="Dockerfile:2: COPY failed: there is no build context"):
        do_build(None, "FROM busybox\nCOPY a /\n")


def test_from_scratch(busybox_engine, context, do_build, tmp_path) -> None:
    image = do_build(context({"hello.txt": "hi"}), "FROM scratch\nCOPY hello.txt /\n").image
    assert len(image.layers) == 1 and image.config.run == {}
    assert tree_listing(unpacked(busybox_engine, image, tmp_path)) == {
        "hello.txt": ("file", "0o644", 0, 0, b"hi")}


def test_cache_entries_are_visible_and_say_what_they_key_on(busybox_engine, context, do_build,
                                                            epoch) -> None:
    ctx = context({"a.txt": "a"})
    first = do_build(ctx, "FROM busybox\nCOPY a.txt /\nENV X=1\n")
    again = do_build(ctx, "FROM busybox\nCOPY a.txt /\nENV X=1\n")
    assert again.cache_hits == 2 and again.image.digest == first.image.digest
    entries = BuildCache(busybox_engine.home / "build-cache").entries()
    copy = next(e for e in entries if e["instruction"] == "COPY a.txt /")
    assert set(copy) == {"key", "parent", "chain_id", "instruction", "epoch", "files", "image"}
    assert copy["epoch"] == epoch
    assert copy["parent"] == str(busybox_engine.image("busybox").id)
    (ctx / "a.txt").write_text("changed")
    third = do_build(ctx, "FROM busybox\nCOPY a.txt /\nENV X=1\n")
    assert third.cache_hits == 0 and third.image.digest != first.image.digest


def test_a_pruned_intermediate_is_a_miss_and_rebuilds_the_same(busybox_engine, context, do_build,
                                                               epoch) -> None:
    ctx = context({"a.txt": "a"})
    dockerfile = "FROM busybox\nCOPY a.txt /\nLABEL a=b\nCOPY a.txt /again\n"
    first = do_build(ctx, dockerfile, tags=["kept:1"])
    busybox_engine.system_prune()  # the unnamed intermediates go; the tagged image stays
    second = do_build(ctx, dockerfile)
    assert second.cache_hits < 3
    assert second.image.digest == first.image.digest


def test_the_build_command_and_a_notebook_cell(busybox_engine, context) -> None:
    parser = Parser(prog="minidock")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    build_command.register(sub)
    ctx = context({"a.txt": "a", "web.Dockerfile": "FROM busybox\nCOPY a.txt /\n"})
    out = io.StringIO()
    args = parser.parse_args(["build", "-q", "-t", "cli:1", "-f", str(ctx / "web.Dockerfile"), str(ctx)])
    image_id = args.handler(busybox_engine, args, Streams(stdout=out))
    assert image_id == str(busybox_engine.image("cli:1").id) and out.getvalue() == ""
    args = parser.parse_args(["build", "-t", "cell:1"])
    args.cell = "FROM busybox\nLABEL from=cell\n"
    assert args.handler(busybox_engine, args, Streams(stdout=out)) is None
    assert busybox_engine.image("cell:1").config.run["Labels"] == {"from": "cell"}
    assert "Step 2/2 : LABEL from=cell" in out.getvalue()
    args = parser.parse_args(["build", "-t", "x:1", "-f", str(ctx / "nope")])
    args.cell = None
    with pytest.raises(InvalidArgument, match="no such Dockerfile"):
        args.handler(busybox_engine, args, Streams(stdout=out))
    args = parser.parse_args(["build", "-t", "bad:1"])
    args.cell = "FROM busybox\nRNU x\n"
    with pytest.raises(InvalidArgument, match="^Dockerfile:2: unknown instruction: RNU$"):
        args.handler(busybox_engine, args, Streams(stdout=out))
    args = parser.parse_args(["builder", "ls"])
    listing = args.handler(busybox_engine, args, Streams(stdout=out))
    assert len(listing) == 2 and any(line.endswith("LABEL from=\"cell\"") for line in listing)
    args = parser.parse_args(["builder", "prune", "-f"])
    assert args.handler(busybox_engine, args, Streams(stdout=out)).startswith("Deleted 2 build cache")


def test_history_and_inspect_show_the_steps(busybox_engine, context, do_build) -> None:
    do_build(context({"a.txt": "a"}), "FROM busybox\nCOPY a.txt /\nEXPOSE 80\n", tags=["hist:1"])
    rows = busybox_engine.history("hist:1").rows
    assert [r.created_by for r in rows[:2]] == ["EXPOSE 80/tcp", "COPY a.txt /"]
    inspect = busybox_engine.image_inspect("hist:1")
    assert inspect["Config"]["ExposedPorts"] == {"80/tcp": {}}
    assert json.dumps(inspect)


def test_the_cache_keys_on_a_pinned_epoch(busybox_engine, context, do_build, monkeypatch) -> None:
    ctx = context({"a.txt": "a"})
    dockerfile = "FROM busybox\nCOPY a.txt /\nENV X=é\n"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000")
    first = do_build(ctx, dockerfile)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "2000")
    other = do_build(ctx, dockerfile)
    assert other.cache_hits == 0 and other.image.digest != first.image.digest
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000")
    again = do_build(ctx, dockerfile)
    assert again.cache_hits == 2 and again.image.digest == first.image.digest
    assert again.image.config.history[-1].created_by == "ENV X=é"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    unpinned = do_build(ctx, dockerfile)
    assert do_build(ctx, dockerfile).image.digest == unpinned.image.digest  # "now", then cache


def test_an_unreadable_context_file_is_one_line_naming_the_step(busybox_engine, context, do_build,
                                                               monkeypatch) -> None:
    ctx = context({"a.txt": "a"})

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(ctx / "a.txt"))

    monkeypatch.setattr("minidock_magic.build.context._file_digest", refuse)
    with pytest.raises(InvalidArgument, match=r"^Dockerfile:2: COPY failed: Permission denied: .*a\.txt$"):
        do_build(ctx, "FROM busybox\nCOPY a.txt /\n")


def test_a_staged_symlink_never_leads_a_later_source_out_of_the_layer(busybox_engine, context,
                                                                      do_build, tmp_path) -> None:
    outside = tmp_path / "host-dir"
    outside.mkdir()
    ctx = context({"one/lib": f"->{outside}", "two/lib/x": "payload", "three/lib": "->/nowhere",
                   "four/lib": "file"})
    image = do_build(ctx, "FROM busybox\nCOPY one/ two/ /dest/\n").image  # two's lib/ replaces the link
    assert list(outside.iterdir()) == []
    assert tree_listing(unpacked(busybox_engine, image, tmp_path))["dest/lib/x"][-1] == b"payload"
    image = do_build(ctx, "FROM busybox\nCOPY one/ three/ four/ /dest/\n").image  # last one wins
    assert tree_listing(unpacked(busybox_engine, image, tmp_path))["dest/lib"][-1] == b"file"
