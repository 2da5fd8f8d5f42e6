"""Shared pieces of the container-files security cases: a host secret no copy may carry, and a
running container that swaps a directory for an absolute symlink to the host in a tight loop.

The swapping is what moby's CVE-2018-15664 proof of concept does: ``renameat2(RENAME_EXCHANGE)``
of ``/data`` (a directory) and ``/data.link`` (a symlink to the host directory), as fast as the
container can — a tiny static C program made with the host's gcc and committed into an image
(busybox's ``mv``/``ln`` are far too slow to lose races reliably).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from minidock_magic.containers.options import RunOptions
from minidock_magic.errors import MinidockError
from minidock_magic.facade import Minidock
from tests.conftest import need, run
from tests.reliability.conftest import Tally

TALLY = Tally("security: container files")
#: Bounded race loops: each hostile operation is tried this many times against the swapper.
ATTEMPTS = 40


@dataclass(frozen=True)
class HostSecret:
    """A 0600 host directory ``dir`` holding ``f`` (the secret text) and a file whose name
    (``marker``) no container has: seeing either in a copy, export, layer or diff is a leak."""

    dir: Path
    text: str
    marker: str

    def untouched(self) -> bool:
        return sorted(p.name for p in self.dir.iterdir()) == sorted(["f", self.marker])


def make_secret(top: Path) -> HostSecret:
    token = os.urandom(8).hex()
    directory = top / f"host-{token}"
    directory.mkdir(mode=0o700)
    text = f"HOST-SECRET-{token}"
    fd = os.open(directory / "f", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, text.encode())
    os.close(fd)
    marker = f"host-only-{token}"
    (directory / marker).write_text("")
    return HostSecret(directory, text, marker)


SWAP_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {  /* swap argv[1] and argv[2] forever */
    for (;;) syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 2 /* RENAME_EXCHANGE */);
}
"""
SWAPPER_IMAGE = "security-files-swapper:1"

#: /data holds f ("inside"), /data.link points at the host dir; then they swap places forever.
SWAPPER = "mkdir -p /data && echo inside > /data/f && ln -s {host} /data.link && touch /ready " \
          "&& exec /swap /data /data.link"


def build_swapper(engine: Minidock, scratch: Path) -> None:
    """Commit ``/swap`` (the static exchanger) into ``busybox`` as :data:`SWAPPER_IMAGE`."""
    source = scratch / "swap.c"
    source.write_text(SWAP_C)
    binary = scratch / "swap"
    run(need("gcc"), "-static", "-O2", "-o", binary, source)
    config = engine.containers.create("busybox", RunOptions(command=["true"]))
    engine.containers.copy(str(binary), f"{config.id}:/swap")
    engine.containers.commit(config.id, SWAPPER_IMAGE)
    engine.containers.remove(config.id)


@contextlib.contextmanager
def swapping_container(engine: Minidock, host: Path) -> Iterator[str]:
    config, _ = engine.containers.run(
        SWAPPER_IMAGE, RunOptions(command=["sh", "-c", SWAPPER.format(host=host)]), detach=True)
    try:
        deadline = time.monotonic() + 30
        while not any(str(c) == "A /ready" for c in engine.containers.diff(config.id).changes):
            assert time.monotonic() < deadline, "the swapping container never started"
            time.sleep(0.05)
        yield config.id
    finally:
        engine.containers.remove(config.id, force=True)


def attempt(operation: Callable[..., object], *args: object) -> str:
    """Run one hostile-race attempt: 'ok', or the kind of error it refused with."""
    try:
        operation(*args)
    except (MinidockError, OSError) as error:  # refusing is fine; leaking is not (callers check)
        return f"refused: {type(error).__name__}"
    return "ok"
