"""Seccomp: the syscall filter every container process runs under, loaded through libseccomp.

A container's setting is one of ``"builtin"`` (docker's default policy, ``seccomp_default``),
``"unconfined"`` (no filter, ``--security-opt seccomp=unconfined``) or a profile in docker's JSON
format (``--security-opt seccomp=FILE.json``: ``defaultAction``, ``syscalls`` with ``names``,
``action``, ``args``, ``includes``/``excludes`` of ``caps``, ``arches``, ``minKernel``). The filter
is compiled by libseccomp (through ``pyseccomp``, or Debian's API-compatible ``python3-seccomp``)
rather than assembled by hand, and loaded last, after ``no_new_privs``, right before ``execve``.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union

from ..errors import InvalidArgument, Unavailable
from . import _libc, capabilities

BUILTIN = "builtin"
UNCONFINED = "unconfined"
#: What a ``ProcessSpec`` carries: a name above, or a docker-format profile.
Setting = Union[str, dict[str, Any]]

_OPS = {"SCMP_CMP_NE": "NE", "SCMP_CMP_LT": "LT", "SCMP_CMP_LE": "LE", "SCMP_CMP_EQ": "EQ",
        "SCMP_CMP_GE": "GE", "SCMP_CMP_GT": "GT", "SCMP_CMP_MASKED_EQ": "MASKED_EQ"}
_ACTIONS = ("SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_LOG", "SCMP_ACT_TRACE")
#: docker's names for the architectures, by ``uname -m``.
_ARCHES = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64",
           "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X",
           "riscv64": "SCMP_ARCH_RISCV64", "i686": "SCMP_ARCH_X86", "armv7l": "SCMP_ARCH_ARM"}


#: The sonames pyseccomp looks up: tried first, since ``ctypes.util.find_library`` runs
#: ``ldconfig -p`` (and more) for each, 20-50 ms of every CLI container start.
_SONAMES = {"c": "libc.so.6", "seccomp": "libseccomp.so.2"}


@contextlib.contextmanager
def _sonames_first() -> Iterator[None]:
    import ctypes
    import ctypes.util
    search = ctypes.util.find_library

    def find_library(name: str) -> str | None:
        soname = _SONAMES.get(name)
        if soname is not None:
            try:
                ctypes.CDLL(soname)
                return soname
            except OSError:
                pass
        return search(name)

    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        ctypes.util.find_library = search


def backend() -> Any:
    """The libseccomp binding; ``Unavailable`` with what to do when there is none."""
    try:
        with _sonames_first():
            import pyseccomp
        return pyseccomp
    except (ImportError, OSError, RuntimeError):  # the binding without libseccomp.so
        pass
    try:
        import seccomp  # Debian's python3-seccomp: the same API
        return seccomp
    except (ImportError, OSError):
        raise Unavailable("seccomp needs libseccomp and a Python binding (pip install pyseccomp; "
                          "apt install libseccomp2): install them, or run with --security-opt "
                          "seccomp=unconfined") from None


# -- choosing a profile (the engine's side) ---------------------------------------------------
def check_profile(profile: Any, source: str) -> dict[str, Any]:
    """``profile`` if it has the shape of a docker profile; one clear line if not."""
    if not isinstance(profile, dict) or not isinstance(profile.get("defaultAction"), str):
        raise InvalidArgument(f"seccomp profile {source} has no defaultAction")
    if profile["defaultAction"] not in _ACTIONS:
        raise InvalidArgument(f"seccomp profile {source}: unknown action "
                              f"{profile['defaultAction']}")
    for rule in profile.get("syscalls") or []:
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        if not names or not all(isinstance(n, str) for n in names):
            raise InvalidArgument(f"seccomp profile {source}: a rule names no syscalls")
        if rule.get("action") not in _ACTIONS:
            raise InvalidArgument(f"seccomp profile {source}: unknown action {rule.get('action')}")
        for arg in rule.get("args") or []:
            if arg.get("op") not in _OPS or not isinstance(arg.get("index"), int):
                raise InvalidArgument(f"seccomp profile {source}: bad argument filter {arg}")
    return profile


def setting_from_option(value: str) -> Setting:
    """``--security-opt seccomp=VALUE``: ``unconfined``, ``builtin`` or a profile file."""
    if value in (UNCONFINED, BUILTIN):
        return value
    try:
        with open(value, encoding="utf-8") as f:
            profile = json.load(f)
    except OSError as exc:
        raise InvalidArgument(f"opening seccomp profile ({value}) failed: {exc.strerror}") \
            from None
    except ValueError as exc:
        raise InvalidArgument(f"decoding seccomp profile ({value}) failed: {exc}") from None
    return check_profile(profile, value)


def describe(setting: Setting) -> str:
    """What ``inspect`` and ``info`` print: builtin, unconfined or custom."""
    return setting if isinstance(setting, str) else "custom"


# -- building the filter (the supervisor's side) ----------------------------------------------
def _kernel_at_least(version: str) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split("-")[0].split(".")[:2] if p.isdigit())
    return parts(os.uname().release) >= parts(version)


def _applies(rule: dict[str, Any], caps: frozenset[int]) -> bool:
    """docker's rule: every included cap held, no excluded cap held, the arch and kernel fit."""
    held = set(capabilities.names(caps))
    include, exclude = rule.get("includes") or {}, rule.get("excludes") or {}
    arch = _ARCHES.get(os.uname().machine, "")
    if not set(include.get("caps") or []) <= held:
        return False
    if set(exclude.get("caps") or []) & held:
        return False
    if include.get("arches") and arch not in include["arches"]:
        return False
    if exclude.get("arches") and arch in exclude["arches"]:
        return False
    if include.get("minKernel") and not _kernel_at_least(include["minKernel"]):
        return False
    return True


def _action(lib: Any, name: str, errno_ret: int | None) -> int:
    if name == "SCMP_ACT_ALLOW":
        return int(lib.ALLOW)
    if name == "SCMP_ACT_ERRNO":
        return int(lib.ERRNO(errno.EPERM if errno_ret is None else errno_ret))
    if name == "SCMP_ACT_TRACE":
        return int(lib.TRACE(errno.EPERM if errno_ret is None else errno_ret))
    if name == "SCMP_ACT_KILL_PROCESS":
        return int(lib.KILL_PROCESS)
    if name in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return int(lib.KILL)
    return int(lib.TRAP if name == "SCMP_ACT_TRAP" else lib.LOG)


def _arg_groups(lib: Any, args: list[dict[str, Any]]) -> list[list[Any]]:
    """One rule's conditions: ANDed, except that several on the same argument are alternatives
    (runc's reading of docker profiles), so each becomes a rule of its own."""
    conditions = [lib.Arg(a["index"], getattr(lib, _OPS[a["op"]]), int(a.get("value", 0)),
                          int(a.get("valueTwo", 0))) for a in args]
    indexes = [a["index"] for a in args]
    if len(set(indexes)) < len(indexes):
        return [[c] for c in conditions]
    return [conditions]


def _extra_arches(profile: dict[str, Any]) -> list[str]:
    """The ABIs besides the native one the filter covers, as pyseccomp's ``Arch`` names: the
    native entry of ``archMap`` (docker's current format) or ``architectures`` (its older one).

    >>> _extra_arches({"architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]}) in ([], ["X86"])
    True
    """
    native = _ARCHES.get(os.uname().machine, "")
    names = [a for a in profile.get("architectures") or [] if a != native]
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:
            names += entry.get("subArchitectures") or []
    return [name.removeprefix("SCMP_ARCH_") for name in dict.fromkeys(names)]


def build(setting: Setting, caps: frozenset[int]) -> Any:
    """A compiled-on-load libseccomp filter for ``setting`` (None for unconfined)."""
    if setting == UNCONFINED:
        return None
    lib = backend()
    if setting == BUILTIN:
        from . import seccomp_default
        profile = seccomp_default.profile()
    else:
        profile = check_profile(setting, "given")
    default_errno = profile.get("defaultErrnoRet")
    default = _action(lib, profile["defaultAction"], default_errno)
    syscall_filter = lib.SyscallFilter(default)
    for arch in _extra_arches(profile):
        if hasattr(lib.Arch, arch):
            syscall_filter.add_arch(getattr(lib.Arch, arch))
    for rule in profile.get("syscalls") or []:
        if not _applies(rule, caps):
            continue
        action = _action(lib, rule["action"], rule.get("errnoRet", default_errno))
        if action == default:
            continue  # libseccomp refuses a rule that repeats the default
        for name in rule.get("names") or [rule["name"]]:
            number = lib.resolve_syscall(lib.Arch.NATIVE, name)
            if number < 0:
                continue  # not a syscall of this architecture
            for conditions in _arg_groups(lib, rule.get("args") or []):
                syscall_filter.add_rule(action, number, *conditions)
    return syscall_filter


def compiled(setting: Setting, caps: frozenset[int]) -> bytes | None:
    """The filter as the BPF program libseccomp generates for it (None: unconfined). Built
    once and loaded as is, the per-container cost is one ``prctl`` instead of a compilation."""
    syscall_filter = build(setting, caps)
    if syscall_filter is None:
        return None
    lib = backend()
    syscall_filter.set_attr(lib.Attr.CTL_OPTIMIZE, 2)  # a binary tree: log(n) checks per call
    fd = os.memfd_create("minidock-seccomp", os.MFD_CLOEXEC)
    try:
        with open(fd, "wb", closefd=False) as sink:
            syscall_filter.export_bpf(sink)
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


@functools.lru_cache(maxsize=1)
def builtin_program(caps: frozenset[int]) -> bytes | None:
    """The default filter, compiled once per process: the fork server compiles it before it
    forks, so every container it starts inherits it ready-made. A CLI process is new every
    time, and compiling costs it ~15 ms (libseccomp's ~300 rules, its import), so the program
    is also remembered in the user's cache dir, next to the host probe's answer."""
    from .probe import recall, remember
    cache = _program_cache_file(caps)
    with contextlib.suppress(OSError):
        program = recall(cache)
        if program and len(program) % 8 == 0 and len(program) <= _BPF_MAXINSNS * 8:
            return program
    program = compiled(BUILTIN, caps)
    if program is not None:
        with contextlib.suppress(OSError):
            remember(cache, program)
    return program


#: The kernel's limit on one classic BPF program (instructions of 8 bytes each).
_BPF_MAXINSNS = 4096


def _program_cache_file(caps: frozenset[int]) -> Path:
    """Keyed by everything the program is compiled from: the profile's rules themselves, the
    capabilities that select them, the architecture, this module (the translation; its size and
    time of change) and the boot (a libseccomp upgraded under a running system is picked up at
    the next boot; the old program stays a correct filter of the same rules until then)."""
    import hashlib

    from . import seccomp_default
    from .probe import boot_id, cache_dir
    here = os.stat(__file__)
    key = json.dumps([seccomp_default.profile(), sorted(caps), os.uname().machine, boot_id(),
                      here.st_size, here.st_mtime_ns], sort_keys=True)
    return cache_dir() / f"seccomp-{os.geteuid()}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.bpf"


def program_for(setting: Setting, caps: frozenset[int]) -> bytes | None:
    return builtin_program(caps) if setting == BUILTIN else compiled(setting, caps)


def load(program: bytes | None) -> None:
    """Install the filter in this (single-threaded) process, after ``no_new_privs``; from here
    on it cannot be lifted, and it passes to every child and across ``execve``."""
    if program is not None:
        _libc.install_seccomp_program(program)
