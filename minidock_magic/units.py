"""Sizes as people read them, in docker's units. It imports nothing, so a pull or push can word
its summary without loading :mod:`.results` (tables, HTML, the images' reports: ~10 ms of every
registry command); :mod:`.results` re-exports it."""

from __future__ import annotations


def human_size(size: int) -> str:
    """docker's units: 1000-based, three significant digits.

    >>> human_size(1982256), human_size(512), human_size(0)
    ('1.98MB', '512B', '0B')
    """
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            if unit == "B":
                return f"{int(value)}B"
            return f"{value:.3g}{unit}"
        value /= 1000
    raise AssertionError("unreachable")
