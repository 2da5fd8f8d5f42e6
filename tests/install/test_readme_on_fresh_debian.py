"""README's first command on a fresh Debian 12, as a newcomer would paste it.

A root filesystem is made with ``debootstrap`` from the Debian mirror this machine's apt uses
(nothing but Debian's minimal base: no python3-venv, no busybox, Debian's PEP 668 python3), a
copy of this checkout goes in, and README's first command runs in it, as root, verbatim. It
must install, make its venv, run the first container (the engine inside the new system, which
bootstraps busybox and runs it) and start JupyterLab on the first lesson; the test stops once
that server answers.

The new system is the root (``pivot_root``) of a private mount namespace sharing the host's
network: a minidock container would do, but the engine inside must create namespaces of its own,
which a container's seccomp profile rightly refuses. Needs root, debootstrap and the network (the
Debian mirror, PyPI); takes several minutes, most of it downloads.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SUITE = "bookworm"


def readme_command(index: int) -> str:
    """The ``index``-th (from 1) ```bash block of README.md, as a reader copies it."""
    blocks = re.findall(r"^```bash\n(.*?)^```", (REPO / "README.md").read_text(), re.S | re.M)
    return blocks[index - 1].strip()


def debian_mirror() -> str:
    """The first Debian mirror apt is configured with here (deb822 or one-line format)."""
    for path in sorted(Path("/etc/apt").glob("sources.list.d/*.sources")):
        found = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", path.read_text(), re.M)
        if found:
            return found.group(1)
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt").glob("sources.list.d/*.list"))]:
        if path.exists():
            found = re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s+\S+", path.read_text(), re.M)
            if found:
                return found.group(1)
    return "http://deb.debian.org/debian"


@pytest.fixture
def fresh_debian(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("debootstrap and chroot need root")
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is not installed: .ci/run installs it (apt-get install debootstrap)")
    rootfs = tmp_path / "debian"
    started = time.monotonic()
    done = subprocess.run(["debootstrap", "--variant=minbase", SUITE, str(rootfs), debian_mirror()],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(f"debootstrap {SUITE} from {debian_mirror()}: {time.monotonic() - started:.0f}s")
    shutil.copy("/etc/resolv.conf", rootfs / "etc" / "resolv.conf")
    if os.environ.get("PIP_CERT") and Path(os.environ["PIP_CERT"]).is_file():
        # This machine reaches PyPI through a TLS proxy whose CA only the host trusts (its pip is
        # told so with PIP_CERT); the new system gets the same bundle, under a name of its own.
        (rootfs / "etc" / "ssl").mkdir(exist_ok=True)
        shutil.copy(os.environ["PIP_CERT"], rootfs / "etc" / "ssl" / "host-network-ca.crt")
    checkout = rootfs / "root" / "minidock_magic"
    shutil.copytree(REPO, checkout, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", "__pycache__", ".pytest_cache"))
    yield rootfs
    shutil.rmtree(rootfs, ignore_errors=True)  # a private mount namespace: nothing stays mounted


# Run as root in a private mount namespace whose root *is* the new system (pivot_root, not
# chroot: in a chroot the kernel refuses user namespaces and "/" is no mount point, so the engine
# would find no isolation), with its /proc, /sys and /dev; inside, as USER (root, or a user with
# sudo), cd to that user's checkout and run the command. Jupyter listens on a port picked for
# this run (JUPYTER_PORT), not its default 8888, which anything else on the host may hold.
ENTER = r"""
set -e
root=$1 user=$2 checkout=$3 port=$4; shift 4
home=$(chroot "$root" getent passwd "$user" | cut -d: -f6)
cert=; [ -f "$root/etc/ssl/host-network-ca.crt" ] && cert=PIP_CERT=/etc/ssl/host-network-ca.crt
mount --make-rprivate /
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup" 2>/dev/null || true
mount --rbind /dev "$root/dev"
cd "$root"
mkdir -p .old-root
pivot_root . .old-root
umount -l /.old-root
rmdir /.old-root
exec /usr/sbin/runuser -u "$user" -- /usr/bin/env -i HOME="$home" $cert LANG=C.UTF-8 JUPYTER_PORT="$port" \
    DEBIAN_FRONTEND=noninteractive PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c 'cd "$1" && eval "$2"' bash "$checkout" "$@"
"""


def _lesson_url(log: Path) -> str | None:
    found = re.search(r"(http://(?:localhost|127\.0\.0\.1):\d+/lab\S*)", log.read_text(errors="replace"))
    return found.group(1) if found else None


def _until_the_lesson_answers(rootfs: Path, user: str, checkout: str, command: str, log: Path) -> float:
    """Run ``command`` in the new system as ``user``; stop it once its lesson server answers."""
    started = time.monotonic()
    with open(log, "w") as out:
        shell = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "bash", "-c", ENTER,
                                  "enter", str(rootfs), user, checkout, str(free_port()), command],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 1500
        while url is None and shell.poll() is None and time.monotonic() < deadline:
            time.sleep(2)
            url = _lesson_url(log)
        text = log.read_text(errors="replace")
        assert url is not None, f"no lesson server (exit {shell.poll()}):\n{text[-5000:]}"
        assert "hello from a container" in text, text[-5000:]
        url = url.replace("localhost", "127.0.0.1")
        parts = urllib.parse.urlsplit(url)  # the first lesson, through the server's contents API
        lesson = urllib.parse.urlunsplit((parts.scheme, parts.netloc,
                                          "/api/contents/01-what-is-an-image.ipynb",  # served from notebooks/
                                          parts.query, ""))
        try:
            with urllib.request.urlopen(url, timeout=30) as answer:
                assert answer.status == 200
            with urllib.request.urlopen(lesson, timeout=30) as answer:
                assert answer.status == 200 and b'"type": "notebook"' in answer.read().replace(b'":"', b'": "')
        except OSError as error:
            raise AssertionError(f"{url}: {error} (server exit {shell.poll()}):\n"
                                 f"{log.read_text(errors='replace')[-5000:]}") from error
        return time.monotonic() - started
    finally:
        if shell.poll() is None:
            os.killpg(shell.pid, signal.SIGTERM)  # the session this test started: jupyter and its kernel
            try:
                shell.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(shell.pid, signal.SIGKILL)
                shell.wait()


def test_readme_first_command_on_fresh_debian(fresh_debian: Path, tmp_path: Path) -> None:
    """As root, then (in the same new system) as a user with sudo, in that user's own clone."""
    command = readme_command(1)
    assert "jupyter lab" in command and "python3-venv" in command
    took = _until_the_lesson_answers(fresh_debian, "root", "/root/minidock_magic", command,
                                     tmp_path / "root.log")
    print(f"README's first command, fresh Debian 12, as root: lesson server answered after {took:.0f}s")

    # A newcomer with sudo (Debian's sudo, which root's run above did not need).
    enter = ["chroot", str(fresh_debian), "/bin/bash", "-c"]
    setup = ("apt-get install -y -qq sudo >/dev/null && useradd --create-home --shell /bin/bash newcomer"
             " && echo 'newcomer ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/newcomer"
             " && cp -r /root/minidock_magic /home/newcomer/ && rm -rf /home/newcomer/minidock_magic/.venv"
             " && chown -R newcomer: /home/newcomer/minidock_magic")
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                           f"mount -t proc proc {fresh_debian}/proc && exec \"$@\"", "x", *enter, setup],
                          capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"})
    assert done.returncode == 0, done.stdout + done.stderr
    took = _until_the_lesson_answers(fresh_debian, "newcomer", "/home/newcomer/minidock_magic", command,
                                     tmp_path / "sudo.log")
    print(f"README's first command, fresh Debian 12, as a user with sudo: lesson server answered "
          f"after {took:.0f}s")
