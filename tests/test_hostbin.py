"""Which host programs run in any root: ELF files with and without an interpreter."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from minidock_magic.hostbin import is_static_elf, static_busybox


def elf(bits: int, headers: list[int]) -> bytes:
    """A minimal little-endian ELF header followed by program headers of the given types."""
    if bits == 64:
        ident, phoff, phentsize = b"\x7fELF\x02\x01\x01" + bytes(9), 64, 56
        header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, phoff, 0, 0, 64, phentsize,
                                     len(headers), 0, 0, 0)
    else:
        ident, phoff, phentsize = b"\x7fELF\x01\x01\x01" + bytes(9), 52, 32
        header = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, 0, phoff, 0, 0, 52, phentsize,
                                     len(headers), 0, 0, 0)
    return header + b"".join(struct.pack("<I", kind).ljust(phentsize, b"\0") for kind in headers)


@pytest.mark.parametrize("bits", [32, 64])
def test_an_interpreter_makes_a_program_dynamic(tmp_path: Path, bits: int) -> None:
    static, dynamic = tmp_path / "static", tmp_path / "dynamic"
    static.write_bytes(elf(bits, [1, 1]))      # PT_LOAD only
    dynamic.write_bytes(elf(bits, [6, 3, 1]))  # PT_PHDR, PT_INTERP, PT_LOAD
    assert is_static_elf(static) and not is_static_elf(dynamic)


def test_what_is_not_an_elf_program_is_not_static(tmp_path: Path) -> None:
    (tmp_path / "text").write_text("#!/bin/sh\n")
    (tmp_path / "short").write_bytes(elf(64, [1])[:40])
    assert not is_static_elf(tmp_path / "text") and not is_static_elf(tmp_path / "short")
    assert not is_static_elf(tmp_path / "missing")


def test_the_hosts_programs() -> None:
    assert not is_static_elf(Path(shutil.which("ls") or "/bin/ls"))  # Debian's ls links libc
    busybox = static_busybox()
    assert busybox is not None, "busybox-static is installed by .ci/run (apt-get install)"
    assert is_static_elf(busybox)
