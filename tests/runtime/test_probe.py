"""probe_host: what this host allows, found by trying, and described in plain lines."""

from __future__ import annotations

import os
import shutil

import pytest

from minidock_magic.runtime import HostCapabilities, Isolation, probe_host

pytestmark = pytest.mark.integration


def test_probe_describes_this_host() -> None:
    caps = probe_host()
    assert probe_host() is caps  # cached: probing spawns processes
    lines = caps.describe()
    assert lines[0].startswith("isolation: ")
    assert any(line.startswith("cgroups: ") for line in lines)
    assert caps.is_root == (os.geteuid() == 0)
    assert (caps.proot is not None) == (shutil.which("proot") is not None)
    assert caps.default_isolation() is not None, "\n".join(lines)
    print("\n".join(lines))  # visible with -s: what `minidock info` will say


def test_default_is_the_strongest_backend_that_works() -> None:
    everything = frozenset({"mount", "pid", "uts", "ipc", "net"})
    root = HostCapabilities(is_root=True, namespaces=everything, user_namespaces=True,
                            rootless_namespaces=everything, proot="/usr/bin/proot")
    assert root.default_isolation() is Isolation.NAMESPACES
    user = HostCapabilities(user_namespaces=True, rootless_namespaces=everything, proot="p")
    assert user.default_isolation() is Isolation.ROOTLESS
    seccomp = HostCapabilities(proot="/usr/bin/proot")
    assert seccomp.default_isolation() is Isolation.PROOT
    assert "proot fallback" in seccomp.describe()[0]
    # Root never gets proot by default (it would confine nothing), only when it asks for it.
    root_in_a_pod = HostCapabilities(is_root=True, proot="/usr/bin/proot")
    assert root_in_a_pod.default_isolation() is None
    assert "%config DockMagics.isolation = 'proot'" in root_in_a_pod.describe()[0]
    assert any("not a security boundary" in line for line in root_in_a_pod.describe())
    assert any("not a security boundary" in line for line in seccomp.describe())
    nothing = HostCapabilities()
    assert nothing.default_isolation() is None
    assert "containers cannot run" in nothing.describe()[0]


def test_nothing_is_run_on_the_host_when_no_backend_works(
        monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from minidock_magic.errors import Unavailable
    from minidock_magic.runtime import ProcessSpec, process

    monkeypatch.setattr(process, "probe_host", lambda: HostCapabilities())
    with pytest.raises(Unavailable, match="neither namespaces nor proot"):
        process.run(ProcessSpec(rootfs=tmp_path, argv=["true"], env=[]))  # type: ignore[arg-type]


def test_a_changed_host_is_probed_again(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """The cache key covers what can change without a reboot (a seccomp filter, sysctls)."""
    from minidock_magic.runtime import probe

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    before = probe._cache_file()
    monkeypatch.setattr(probe, "_FINGERPRINT_FILES", (*probe._FINGERPRINT_FILES, __file__))
    assert probe._cache_file() != before
