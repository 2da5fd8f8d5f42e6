"""The three files docker writes for every container: /etc/hosts, /etc/resolv.conf, /etc/hostname.

Pure text; the namespace backend bind-mounts them over the image's files (so the image is not
changed), the proot backend binds them by path translation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DEFAULT_HOSTNAME = "minidock"
FALLBACK_NAMESERVERS = ("8.8.8.8", "8.8.4.4")
#: Compiled at import, so the fork server's children inherit it compiled (``re``'s cache is per
#: process: a pattern first used in a child is compiled again for every container).
_LOOPBACK_NAMESERVER = re.compile(r"\s*nameserver\s+(127\.|::1\b)")


def hosts(hostname: str, extra_hosts: Sequence[tuple[str, str]] = ()) -> str:
    r"""/etc/hosts: localhost, the container's own name, then ``--add-host`` entries.

    >>> hosts("box", [("db", "10.0.0.2")]).splitlines()  # doctest: +NORMALIZE_WHITESPACE
    ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', '127.0.1.1\tbox',
     '10.0.0.2\tdb']
    """
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             f"127.0.1.1\t{hostname}"]
    lines += [f"{address}\t{name}" for name, address in extra_hosts]
    return "\n".join(lines) + "\n"


def resolv_conf(host_text: str, network: str) -> str:
    """The host's resolver config; a loopback nameserver is useless off the host's network.

    >>> resolv_conf("nameserver 127.0.0.53\\n", "none")
    'nameserver 8.8.8.8\\nnameserver 8.8.4.4\\n'
    >>> resolv_conf("nameserver 127.0.0.53\\n", "host")
    'nameserver 127.0.0.53\\n'
    """
    if network == "host":
        return host_text
    kept = [ln for ln in host_text.splitlines()
            if not _LOOPBACK_NAMESERVER.match(ln)]
    if not any(ln.strip().startswith("nameserver") for ln in kept):
        kept += [f"nameserver {ns}" for ns in FALLBACK_NAMESERVERS]
    return "\n".join(kept) + "\n"


def host_resolv_conf() -> str:
    try:
        with open("/etc/resolv.conf") as f:
            return f.read()
    except OSError:
        return ""
