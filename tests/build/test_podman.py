"""The yardstick: the same Dockerfile built by ``podman build`` and by minidock gives the same
filesystem — paths, types, modes, owners, link targets and contents."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import SIX_STEPS, tree_listing

pytestmark = pytest.mark.integration

BASE = "docker.io/library/busybox:latest"

RICH = f"""\
FROM {BASE} AS builder
RUN mkdir -p /out/bin && echo artefact > /out/a.txt && ln -s a.txt /out/link \\
    && printf '#!/bin/sh\\necho tool\\n' > /out/bin/tool && chmod 755 /out/bin/tool
FROM {BASE}
WORKDIR /app
COPY hello.txt ./
COPY conf /etc/app/
COPY --chown=nobody:nobody data /data
RUN cat hello.txt > /app/copy.txt && rm /etc/group && chmod 700 /data && mkdir -p /var/lib/x
ENV GREETING=hi
RUN echo "$GREETING" > /app/greeting && rm /app/copy.txt && ln -s /app/greeting /app/g
COPY --from=builder /out /opt/out
COPY --from=0 /out/bin/tool /usr/local/bin/
CMD ["cat", "/app/greeting"]
"""


def make_context(root: Path, dockerfile: str) -> Path:
    files = {"hello.txt": "hello from the context\n", "conf/app.conf": "a=1\n",
             "conf/sub/more.conf": "b=2\n", "data/seed.csv": "x,y\n", "data/run.sh": "#!/bin/sh\n",
             "Dockerfile": dockerfile}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    os.chmod(root / "data/run.sh", 0o755)
    os.chmod(root / "conf/sub", 0o750)
    return root


#: What buildah leaves in a RUN layer when the base image lacks them: the mount points it made
#: for that step's container (empty). docker leaves none, nor do we (build/running.py).
BUILDAH_MOUNT_POINTS = {"run": ("dir", "0o755", 0, 0), "etc/hostname": ("file", "0o755", 0, 0, b"")}


def podman_tree(podman, image: str) -> dict[str, tuple]:
    """The image's filesystem as podman stores it, via a created (never started) container."""
    container = podman.podman("create", image, "true").stdout.strip()
    try:
        mounted = Path(podman.podman("mount", container).stdout.strip())
        listing = tree_listing(mounted)
    finally:
        podman.podman("unmount", container)
        podman.podman("rm", container)
    for path, expected in BUILDAH_MOUNT_POINTS.items():
        if path in listing:
            assert listing.pop(path) == expected and not any(p.startswith(path + "/") for p in listing)
    return listing


@pytest.fixture
def podman_with_busybox(busybox_engine, podman, tmp_path):
    archive = tmp_path / "busybox.tar"
    with open(archive, "wb") as out:
        busybox_engine.save(["busybox"], out)
    podman.podman("load", "-i", str(archive))
    return podman


@pytest.mark.parametrize("dockerfile", [SIX_STEPS.replace("FROM busybox", f"FROM {BASE}"), RICH],
                         ids=["six-steps", "multi-stage"])
def test_podman_and_minidock_build_the_same_filesystem(busybox_engine, podman_with_busybox, do_build,
                                                       tmp_path, dockerfile) -> None:
    ctx = make_context(tmp_path / "ctx", dockerfile)
    podman_with_busybox.podman("build", "--network", "none", "--pull=never", "-t", "same:1", str(ctx))
    theirs = podman_tree(podman_with_busybox, "same:1")
    built = do_build(ctx, tags=["same:1"])
    ours = tree_listing(busybox_engine.unpack("same:1", tmp_path / "ours"))
    assert ours.keys() == theirs.keys(), (sorted(ours.keys() - theirs.keys()),
                                          sorted(theirs.keys() - ours.keys()))
    different = {path: (ours[path], theirs[path]) for path in ours if ours[path] != theirs[path]}
    assert different == {}
    assert "Successfully built" in built.output


def test_podman_runs_what_minidock_built(busybox_engine, podman, do_build, tmp_path) -> None:
    ctx = make_context(tmp_path / "ctx", SIX_STEPS)
    do_build(ctx, tags=["localhost/six:1"])
    archive = tmp_path / "six.tar"
    with open(archive, "wb") as out:
        busybox_engine.save(["localhost/six:1"], out)
    podman.podman("load", "-i", str(archive))
    result = podman.run_image("localhost/six:1")
    assert result.stdout == "hi\n"
