"""The seccomp profile logic without starting containers: docker's rule selection, profile
checking, option parsing, and the clear refusal when libseccomp is missing."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from minidock_magic.containers.options import seccomp_setting
from minidock_magic.errors import InvalidArgument, Unavailable
from minidock_magic.runtime import capabilities, seccomp, seccomp_default

DEFAULT = capabilities.DEFAULT
WITH_ADMIN = DEFAULT | {capabilities.BY_NAME["CAP_SYS_ADMIN"]}


def _rules_for(name: str, caps: frozenset[int]) -> list[dict]:
    return [rule for rule in seccomp_default.profile()["syscalls"]
            if name in rule["names"] and seccomp._applies(rule, caps)]


def test_default_caps_get_no_namespace_or_mount_syscalls() -> None:
    for name in ("unshare", "setns", "mount", "umount2", "bpf", "keyctl", "kexec_load"):
        assert _rules_for(name, DEFAULT) == [], name
    assert [r["action"] for r in _rules_for("clone3", DEFAULT)] == ["SCMP_ACT_ERRNO"]
    assert _rules_for("clone", DEFAULT)[0]["args"][0]["op"] == "SCMP_CMP_MASKED_EQ"
    assert _rules_for("chroot", DEFAULT)  # CAP_SYS_CHROOT is a default capability


def test_sys_admin_would_unlock_them() -> None:
    assert _rules_for("unshare", WITH_ADMIN) and _rules_for("mount", WITH_ADMIN)
    assert [r["action"] for r in _rules_for("clone3", WITH_ADMIN)] == ["SCMP_ACT_ALLOW"]


def test_the_default_profile_compiles() -> None:
    program = seccomp.compiled(seccomp.BUILTIN, DEFAULT)
    assert program and len(program) % 8 == 0  # struct sock_filter: 8 bytes an instruction
    assert seccomp.compiled(seccomp.UNCONFINED, DEFAULT) is None


def test_security_opt_parsing(tmp_path: Path) -> None:
    profile = tmp_path / "p.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}))
    assert seccomp_setting([f"seccomp={profile}"])["syscalls"][0]["names"] == ["mkdir"]
    assert seccomp_setting(["seccomp:unconfined"]) == "unconfined"
    for bad in (["apparmor=x"], ["seccomp=/no/such/file.json"], ["label=disable"]):
        with pytest.raises(InvalidArgument):
            seccomp_setting(bad)


@pytest.mark.parametrize("profile, message", [
    ({"syscalls": []}, "defaultAction"),
    ({"defaultAction": "SCMP_ACT_NOPE"}, "unknown action"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"action": "SCMP_ACT_ALLOW"}]},
     "names no syscalls"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "op": "X"}]}]},
     "bad argument filter"),
])
def test_malformed_profiles_are_one_clear_line(profile: dict, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        seccomp.check_profile(profile, "p.json")


def test_missing_libseccomp_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyseccomp", None)  # None: "import pyseccomp" fails
    monkeypatch.setitem(sys.modules, "seccomp", None)
    with pytest.raises(Unavailable, match="seccomp=unconfined"):
        seccomp.compiled(seccomp.BUILTIN, DEFAULT)
    assert seccomp.compiled(seccomp.UNCONFINED, DEFAULT) is None  # unconfined needs none


def test_the_default_program_is_remembered_between_processes(tmp_path: Path, monkeypatch) -> None:
    """A CLI process loads the compiled default filter from the user's cache instead of
    compiling it again; what it loads is the very program a compilation gives, and a damaged
    cache file is compiled over, never loaded."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    fresh = seccomp.compiled(seccomp.BUILTIN, DEFAULT)
    seccomp.builtin_program.cache_clear()
    try:
        assert seccomp.builtin_program(DEFAULT) == fresh
        (cached,) = (tmp_path / "minidock").glob("seccomp-*.bpf")
        assert cached.read_bytes() == fresh

        seccomp.builtin_program.cache_clear()  # as a new process: the file, not a compilation
        monkeypatch.setattr(seccomp, "compiled", lambda *a: pytest.fail("compiled again"))
        assert seccomp.builtin_program(DEFAULT) == fresh

        monkeypatch.undo()
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
        cached.write_bytes(fresh[:-3])  # not whole instructions
        seccomp.builtin_program.cache_clear()
        assert seccomp.builtin_program(DEFAULT) == fresh
        assert cached.read_bytes() == fresh
        # a file someone else could have written (a shared or careless cache dir) is not loaded
        allow_all = b"\x06\x00\x00\x00\x00\x00\xff\x7f"  # one instruction: return ALLOW
        for mode, owner in ((0o622, os.geteuid()), (0o600, 65534)):
            cached.write_bytes(allow_all)
            os.chmod(cached, mode)
            if owner != os.geteuid():
                if os.geteuid() != 0:
                    continue
                os.chown(cached, owner, -1)
            seccomp.builtin_program.cache_clear()
            assert seccomp.builtin_program(DEFAULT) == fresh
        # other capabilities select other rules: another file, never this one's program
        assert seccomp._program_cache_file(WITH_ADMIN) != cached
    finally:
        seccomp.builtin_program.cache_clear()
