"""The file viewer's text: the first bytes of a file (:func:`.tars.read_head`) as text or a hex dump.

>>> render(b'hello\\n', 6)
'hello\\n'
>>> print(render(bytes(range(20)), 20))
00000000  00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f  |................|
00000010  10 11 12 13                                       |....|
"""

from __future__ import annotations

from ..results import human_size
from .tars import DIR, FILE, HARDLINK, PREVIEW_BYTES, SYMLINK, Head


def text_of(data: bytes) -> str | None:
    """``data`` as text, or None if it looks binary (NUL bytes, or not UTF-8). A multibyte
    character cut off by the preview limit does not make a file binary.

    >>> text_of('héllo'.encode()[:2]), text_of(b'a\\x00b'), text_of(b'\\xff\\xfe')
    ('h', None, None)
    """
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(data) - 3 and error.reason == "unexpected end of data":
            return data[:error.start].decode("utf-8")
        return None


def hexdump(data: bytes, width: int = 16) -> str:
    """``hexdump -C``'s layout: offset, bytes in two groups of eight, printable ASCII."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset:offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk[:8]) + "  " + " ".join(f"{b:02x}" for b in chunk[8:])
        ascii_ = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes.ljust(3 * width)}  |{ascii_}|")
    return "\n".join(lines)


def render(data: bytes, size: int) -> str:
    text = text_of(data)
    body = text if text is not None else hexdump(data)
    return body + ("\n…" if size > len(data) else "")


def describe(head: Head, limit: int = PREVIEW_BYTES) -> str:
    """What the file viewer shows for ``head``: a one-line header, then text or a hex dump."""
    if head.kind == DIR:
        return f"{head.path}: directory"
    if head.kind == SYMLINK:
        return f"{head.path}: symbolic link -> {head.linkname}"
    if head.kind == HARDLINK:
        return f"{head.path}: hard link to /{head.linkname.lstrip('/')} (in a lower layer)"
    if head.kind != FILE:
        return f"{head.path}: special file (device or fifo), no content"
    if not head.size:
        return f"{head.path}: empty file"
    shown = "" if head.size <= limit else f", first {limit} bytes shown"
    return f"{head.path}: {human_size(head.size)}{shown}\n" + render(head.data, head.size)
