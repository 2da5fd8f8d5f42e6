"""Layer members read and checked before anything touches the disk (pure): names, link texts, times.

A member name loses its leading ``/`` and ``./`` (and empty or ``.`` components): an absolute
member belongs *inside* the rootfs. A ``..`` component is refused outright instead of clamped:
no image tool writes one, so it can only be an attack, and refusing it says so (moby refuses
too). Symlink targets are different: they are kept verbatim, ``..`` and absolute included,
since they are resolved later, inside the container (or chroot-style by :mod:`.safepath`).

>>> member_parts('./etc//passwd', ApplyLimits())
('etc', 'passwd')
>>> member_parts('/', ApplyLimits())
()
>>> member_parts('a/../../x', ApplyLimits())
Traceback (most recent call last):
...
minidock_magic.errors.UnsafeLayer: refused layer entry 'a/../../x': its name contains '..'
"""

from __future__ import annotations

import tarfile
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from ..errors import TooLarge, UnsafeLayer
from .layerstream import ApplyLimits
from .safepath import split_path


def _shown(member: str) -> str:
    return repr(member) if len(member) <= 200 else repr(member[:200]) + "…"


def refusal(member: str, why: str) -> UnsafeLayer:
    """The one-line error for a refused entry: which member, and what was refused."""
    return UnsafeLayer(f"refused layer entry {_shown(member)}: {why}")


def member_path(name: str) -> str | None:
    """A member name as an absolute path, for readers that list a layer; None for the root itself
    and for names with ``..`` (which no layer may hold).

    >>> member_path('./etc//passwd'), member_path('usr/bin/'), member_path('./'), member_path('a/../b')
    ('/etc/passwd', '/usr/bin', None, None)
    >>> member_path('./.profile')
    '/.profile'
    """
    parts = split_path(name)
    if not parts or ".." in parts:
        return None
    return "/" + "/".join(parts)


def check_depth(member: str, parts: tuple[str, ...], limits: ApplyLimits) -> tuple[str, ...]:
    if len(parts) > limits.max_depth:
        raise TooLarge(f"layer entry {_shown(member)}: deeper than {limits.max_depth} levels")
    return parts


def member_parts(name: str, limits: ApplyLimits, *, member: str | None = None,
                 what: str = "name") -> tuple[str, ...]:
    """The components of a member name (or hardlink target), or a refusal naming ``member``."""
    member = name if member is None else member
    if "\0" in name:
        raise refusal(member, f"its {what} contains a NUL byte")
    if len(name.encode("utf-8", "surrogateescape")) > limits.max_path_length:
        raise TooLarge(f"layer entry {_shown(member)}: {what} longer than {limits.max_path_length} bytes")
    parts = tuple(split_path(name))
    if ".." in parts:
        raise refusal(member, f"its {what} contains '..'")
    return check_depth(member, parts, limits)


def check_symlink_target(member: str, target: str, limits: ApplyLimits) -> None:
    """Any text a symlink may hold inside a container, but not empty, NUL or unbounded.

    >>> check_symlink_target('lib', '../usr/lib', ApplyLimits())
    >>> check_symlink_target('lib', '', ApplyLimits())
    Traceback (most recent call last):
    ...
    minidock_magic.errors.UnsafeLayer: refused layer entry 'lib': empty or NUL symlink target
    """
    if not target or "\0" in target:
        raise refusal(member, "empty or NUL symlink target")
    if len(target.encode("utf-8", "surrogateescape")) > limits.max_path_length:
        raise TooLarge(f"layer entry {_shown(member)}: symlink target longer than "
                       f"{limits.max_path_length} bytes")


def mtime_ns(member: tarfile.TarInfo) -> int:
    """The member's mtime in ns, exactly (tarfile turns a PAX ``mtime`` into a lossy float),
    clamped to what the kernel takes: a hostile ``mtime=1e400`` must not crash us.

    >>> info = tarfile.TarInfo('f'); info.pax_headers = {'mtime': '1500000000.123456789'}
    >>> mtime_ns(info)
    1500000000123456789
    >>> info.pax_headers = {'mtime': 'inf'}; mtime_ns(info)
    0
    """
    try:
        ns = int(Decimal(member.pax_headers.get("mtime", member.mtime)).scaleb(9)
                 .to_integral_value(ROUND_FLOOR))
    except (InvalidOperation, ValueError, OverflowError):
        ns = 0
    return max(-(1 << 62), min(ns, 1 << 62))
