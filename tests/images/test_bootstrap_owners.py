"""One digest everywhere: the built-in busybox bootstrapped by root and by a real student.

A layer records owners as the image means them, so the student's bootstrap (its files are the
student's on the host) is byte for byte root's. The student is a real unprivileged user running
Debian's own python3 (root's home, with root's Python, is closed to others), as in
``tests/runtime/test_rootless_user.py``.
"""

from __future__ import annotations

import io
import json
import os
import pwd
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import minidock_magic
from minidock_magic.content.store import ContentStore
from minidock_magic.images.bootstrap import bootstrap_image

pytestmark = [pytest.mark.integration]

USER = "minidock-bootstrap"
SYSTEM_PYTHON = "/usr/bin/python3"

SCRIPT = r'''
import json, sys
from pathlib import Path
from minidock_magic.content.store import ContentStore
from minidock_magic.diff.writer import write_tree_layer
from minidock_magic.images.bootstrap import bootstrap_image
base = Path(sys.argv[1])
store = ContentStore(base / "store")
manifest = bootstrap_image(store, base / "tmp")
tree = base / "tree"
(tree / "etc").mkdir(parents=True)
(tree / "etc" / "motd").write_text("hi\n")
with open(base / "tree.tar", "wb") as out:
    write_tree_layer(tree, out, compression="none", source_date_epoch=0)
print(json.dumps({"uid": __import__("os").getuid(), "manifest": str(manifest.digest)}))
'''


@pytest.fixture
def student() -> Iterator[pwd.struct_passwd]:
    if os.geteuid() != 0:
        pytest.skip("needs root to create the student (as a student, every bootstrap is the student's)")
    if not Path(SYSTEM_PYTHON).exists():
        pytest.skip(f"no {SYSTEM_PYTHON} on this host")
    try:
        entry, created = pwd.getpwnam(USER), False
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
        entry, created = pwd.getpwnam(USER), True
    yield entry
    if created:
        subprocess.run(["userdel", USER], check=False)


def test_root_and_a_student_bootstrap_the_same_bytes(student: pwd.struct_passwd, tmp_path: Path) -> None:
    base = Path(tempfile.mkdtemp(prefix="minidock-bootstrap-"))
    try:
        base.chmod(0o755)
        shutil.copytree(Path(minidock_magic.__file__).parent, base / "src" / "minidock_magic",
                        ignore=shutil.ignore_patterns("__pycache__"))
        work = base / "work"
        work.mkdir()
        os.chown(work, student.pw_uid, student.pw_gid)
        done = subprocess.run([SYSTEM_PYTHON, "-c", SCRIPT, str(work)], user=student.pw_uid,
                              group=student.pw_gid, extra_groups=[], cwd=work, capture_output=True,
                              text=True, timeout=120,
                              env={"HOME": str(work), "PATH": "/usr/bin:/bin",
                                   "PYTHONPATH": str(base / "src"), "PYTHONDONTWRITEBYTECODE": "1"})
        assert done.returncode == 0, done.stderr
        theirs = json.loads(done.stdout)
        assert theirs["uid"] == student.pw_uid != 0
        ours = bootstrap_image(ContentStore(tmp_path / "store"), tmp_path / "tmp")
        print(f"busybox manifest as root: {ours.digest}; as uid {student.pw_uid}: {theirs['manifest']}")
        assert theirs["manifest"] == str(ours.digest)
        # Every layer, not only the bootstrap: the student's own files are root's in the image.
        with tarfile.open(fileobj=io.BytesIO((work / "tree.tar").read_bytes())) as tar:
            assert {(m.name, m.uid, m.gid) for m in tar} == {("etc", 0, 0), ("etc/motd", 0, 0)}
    finally:
        shutil.rmtree(base, ignore_errors=True)
