"""Host programs that run in any root: a static busybox. The built-in image is made of it, and
under proot a private copy of it waits for the container's program (its exit status)."""

from __future__ import annotations

from pathlib import Path

BUSYBOX_PATHS = ("/bin/busybox", "/usr/bin/busybox")
PT_INTERP = 3


def static_busybox() -> Path | None:
    """The host's busybox if it is statically linked (a dynamic one needs the host's libc,
    which no image and no container root has), else None."""
    for candidate in BUSYBOX_PATHS:
        path = Path(candidate)
        if path.is_file() and is_static_elf(path):
            return path
    return None


def is_static_elf(path: Path) -> bool:
    """An ELF executable without an interpreter (no PT_INTERP program header), 32 or 64 bit."""
    try:
        with open(path, "rb") as elf:
            ident = elf.read(64)
            if len(ident) < 52 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
                return False
            order = "little" if ident[5] == 1 else "big"
            # e_phoff, e_phentsize, e_phnum: where each class keeps them
            offsets = ((28, 32), 42, 44) if ident[4] == 1 else ((32, 40), 54, 56)
            (start, end), size_at, count_at = offsets
            phoff = int.from_bytes(ident[start:end], order)
            phentsize = int.from_bytes(ident[size_at:size_at + 2], order)
            phnum = int.from_bytes(ident[count_at:count_at + 2], order)
            if phentsize < 4:
                return False
            elf.seek(phoff)
            table = elf.read(phentsize * phnum)
    except OSError:
        return False
    return not any(int.from_bytes(table[i:i + 4], order) == PT_INTERP
                   for i in range(0, len(table), phentsize))
