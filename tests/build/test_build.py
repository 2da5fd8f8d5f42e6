"""Builds with RUN steps (real containers): the cache, reproducible digests, multi-stage."""

from __future__ import annotations

import io
import shutil
import tarfile

import pytest

from minidock_magic.build.builder import build
from minidock_magic.build.running import StepFailed
from minidock_magic.containers.options import RunOptions
from minidock_magic.facade import Minidock

from .conftest import SIX_STEPS, tree_listing

pytestmark = pytest.mark.integration


def run_image(engine: Minidock, name: str, *command: str) -> str:
    out = io.BytesIO()
    _, code = engine.containers.run(name, RunOptions(command=list(command), auto_remove=True),
                                    stdout=out, stderr=out)
    assert code == 0, out.getvalue()
    return out.getvalue().decode()


def test_six_steps_twice_is_all_cache_and_the_same_digest(busybox_engine, context, do_build, epoch) -> None:
    ctx = context({"hello.txt": "hello from the context\n", "Dockerfile": SIX_STEPS})
    cold = do_build(ctx, tags=["six:1"])
    assert cold.cache_hits == 0 and cold.output.count("Running in") == 2
    assert "hello from the context" in cold.output  # RUN output is streamed to the build's output
    warm = do_build(ctx, tags=["six:1"])
    assert warm.cache_hits == 5 and "Running in" not in warm.output
    assert warm.image.digest == cold.image.digest
    assert run_image(busybox_engine, "six:1") == "hi\n"
    assert busybox_engine.containers.ps(all=True).rows == []  # temporary containers are gone


def test_changing_a_copied_file_reruns_from_that_copy_on(busybox_engine, context, do_build, epoch) -> None:
    dockerfile = ("FROM busybox\nRUN echo one > /one\nCOPY first.txt /\nRUN cat /first.txt > /copy1\n"
                  "COPY second.txt /\nRUN cat /second.txt > /copy2\n")
    ctx = context({"first.txt": "1", "second.txt": "2", "unused.txt": "u"})
    first = do_build(ctx, dockerfile)
    (ctx / "unused.txt").write_text("changed, but nothing copies it")
    assert do_build(ctx, dockerfile).cache_hits == 5
    (ctx / "second.txt").write_text("2, changed")
    second = do_build(ctx, dockerfile)
    assert second.cache_hits == 3 and second.output.count("Running in") == 1
    assert second.image.layers[:4] == first.image.layers[:4]  # the unchanged steps' very blobs
    (ctx / "first.txt").write_text("1, changed")
    assert do_build(ctx, dockerfile).cache_hits == 1


def test_six_steps_are_reproducible_across_homes(busybox_home, context, tmp_path, epoch) -> None:
    ctx = context({"hello.txt": "hello from the context\n", "Dockerfile": SIX_STEPS})
    digests = set()
    for home in ("one", "two"):
        shutil.copytree(busybox_home, tmp_path / home, symlinks=True)
        digests.add(build(Minidock(tmp_path / home), ctx, out=io.StringIO()).digest)
    assert len(digests) == 1


def test_env_and_build_args_reach_run_and_its_cache_key(busybox_engine, context, do_build, epoch) -> None:
    dockerfile = "FROM busybox\nARG WHO=world\nENV GREETING=hello\nRUN echo \"$GREETING $WHO\" > /out\n"
    first = do_build(None, dockerfile, tags=["args:1"])
    assert run_image(busybox_engine, "args:1", "cat", "/out") == "hello world\n"
    second = do_build(None, dockerfile, tags=["args:2"], build_args={"WHO": "students"})
    assert second.cache_hits == 1  # the ENV step; the RUN sees another ARG value
    assert run_image(busybox_engine, "args:2", "cat", "/out") == "hello students\n"
    assert "WHO" not in str(second.image.config.run.get("Env"))  # ARGs are not kept in the image
    other_env = do_build(None, dockerfile.replace("hello", "hi"))
    assert other_env.cache_hits == 0 and other_env.image.digest != first.image.digest


def test_run_sees_workdir_and_user_and_has_no_network(busybox_engine, do_build) -> None:
    built = do_build(None, "FROM busybox\nWORKDIR /work\nUSER nobody\n"
                     "RUN pwd > /tmp/pwd && id -u > /tmp/uid && (ip link 2>/dev/null | grep -c '^[0-9]' "
                     "> /tmp/links || true)\n", tags=["who:1"])
    out = run_image(busybox_engine, "who:1", "cat", "/tmp/pwd", "/tmp/uid")
    assert out == "/work\n65534\n"
    assert "Running in" in built.output


def test_a_failing_run_names_the_line_and_the_exit_code(busybox_engine, do_build) -> None:
    with pytest.raises(StepFailed) as raised:
        do_build(None, "FROM busybox\nRUN echo partial\nRUN echo about to fail && exit 3\n",
                 tags=["broken:1"])
    assert str(raised.value).startswith("Dockerfile:3: the command '/bin/sh -c echo about to fail && "
                                        "exit 3' returned a non-zero code: 3")
    assert raised.value.exit_code == 3
    assert busybox_engine.containers.ps(all=True).rows == []
    assert not any(e.reference and e.reference.familiar == "broken:1" for e in busybox_engine.names.entries())


def test_run_layers_hold_only_what_the_command_changed(busybox_engine, do_build, tmp_path) -> None:
    image = do_build(None, "FROM busybox\nRUN true\nRUN rm /etc/group && mkdir -p /data/x\n").image
    history = image.config.data["history"]
    assert history[-2]["empty_layer"] is True  # `true` changed nothing: no layer at all
    with busybox_engine.content.open(image.layers[-1].digest) as blob, \
            tarfile.open(fileobj=blob, mode="r|*") as tar:
        names = [m.name for m in tar]
    assert names == ["data", "data/x", "etc", "etc/.wh.group"]  # no /etc/hosts, /proc, /dev


def test_multi_stage_copies_an_artefact_by_index_and_by_name(busybox_engine, do_build, tmp_path) -> None:
    dockerfile = """\
FROM busybox AS builder
RUN mkdir -p /out/bin && echo '#!/bin/sh' > /out/bin/app && echo 'echo built app' >> /out/bin/app \\
    && chmod 755 /out/bin/app && echo notes > /out/notes.txt
FROM busybox AS unused
RUN echo not needed
FROM busybox
COPY --from=builder /out/bin/app /usr/local/bin/app
COPY --from=0 /out/ /opt/
CMD ["app"]
"""
    built = do_build(None, dockerfile, tags=["multi:1"])
    image = built.image
    base = busybox_engine.image("busybox")
    assert image.layers[:len(base.layers)] == base.layers
    assert len(image.layers) == len(base.layers) + 2  # the builder's own layers are not shipped
    assert run_image(busybox_engine, "multi:1") == "built app\n"
    files = tree_listing(busybox_engine.unpack("multi:1", tmp_path / "rootfs"))
    assert files["opt/notes.txt"][-1] == b"notes\n" and files["opt/bin/app"][1] == "0o755"
    again = do_build(None, dockerfile, tags=["multi:1"])
    assert again.cache_hits == 5 and again.image.digest == image.digest
    target = do_build(None, dockerfile, target="builder")
    assert "Step 3/" not in target.output and target.image.config.run.get("Cmd") == ["sh"]


def test_copy_from_an_image(busybox_engine, do_build, tmp_path) -> None:
    image = do_build(None, "FROM scratch\nCOPY --from=busybox /bin/busybox /bin/\n"
                     "COPY --from=busybox /etc/passwd /etc/\nCMD [\"/bin/busybox\", \"id\"]\n",
                     tags=["tiny:1"]).image
    assert len(image.layers) == 2
    assert run_image(busybox_engine, "tiny:1").startswith("uid=0(root)")
