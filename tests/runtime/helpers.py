"""Shared helpers for the runtime tests: a busybox rootfs and running with captured output."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minidock_magic.runtime import Isolation, ProcessSpec, run

BUSYBOX = "/bin/busybox"
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"


def make_busybox_rootfs(root: Path) -> Path:
    """A one-binary image: busybox-static in /bin with a symlink per applet, /etc/passwd, group."""
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    for path in (root, root / "bin", root / "etc"):
        path.chmod(0o755)
    return root


@dataclass
class Result:
    status: int
    out: str
    err: str


def spec(rootfs: Path, *argv: str, **fields: Any) -> ProcessSpec:
    env = fields.pop("env", ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    return ProcessSpec(rootfs=rootfs, argv=list(argv), env=env, **fields)


def capture(process_spec: ProcessSpec, isolation: Isolation | None, **kwargs: Any) -> Result:
    """Run with stdout to a real file and stderr to a BytesIO (both ways the lead streams)."""
    err = io.BytesIO()
    with tempfile.TemporaryFile() as out:
        status = run(process_spec, isolation=isolation, stdout=out, stderr=err, **kwargs)
        out.seek(0)
        return Result(status, out.read().decode(), err.getvalue().decode())
