"""Published ports (``-p``/``-P``): what the user wrote, and how docker shows the result (pure).

A binding says: listen on ``host_ip:host_port`` on the host, and connect each accepted
connection to ``container_port`` inside the container's own network namespace. Host port 0
means "any free port", chosen when the container starts. The default address is 127.0.0.1, not
docker's 0.0.0.0: a teaching machine should not open a container to its whole network unless
asked (``-p 0.0.0.0:8080:80``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgument

DEFAULT_HOST_IP = "127.0.0.1"


@dataclass(frozen=True)
class PortBinding:
    """One published port: a host address and port forwarded to a container port."""

    host_ip: str
    host_port: int        # 0: chosen when the container starts
    container_port: int
    protocol: str = "tcp"

    @property
    def key(self) -> str:
        """docker's ``80/tcp``."""
        return f"{self.container_port}/{self.protocol}"

    def to_json(self) -> list[Any]:
        return [self.host_ip, self.host_port, self.container_port, self.protocol]

    @classmethod
    def from_json(cls, data: list[Any]) -> PortBinding:
        return cls(str(data[0]), int(data[1]), int(data[2]), str(data[3]))


def stored_bindings(stored: list[list[Any]]) -> list[PortBinding]:
    """Bindings as a container's config and state keep them (JSON lists)."""
    return [PortBinding.from_json(item) for item in stored]


def _port(text: str, spec: str, *, allow_zero: bool = False) -> int:
    if not text.isdigit() or not (0 if allow_zero else 1) <= int(text) <= 65535:
        raise InvalidArgument(f"invalid port {text!r} in publish spec {spec!r}: "
                              "a number from 1 to 65535")
    return int(text)


def _address(text: str, spec: str) -> str:
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        raise InvalidArgument(f"invalid IP address {text!r} in publish spec {spec!r}") from None


def parse_publish(spec: str) -> PortBinding:
    """``[HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp]``, as ``docker run -p`` takes it.

    >>> parse_publish("8080:80")
    PortBinding(host_ip='127.0.0.1', host_port=8080, container_port=80, protocol='tcp')
    >>> parse_publish("0.0.0.0:9000:9000/tcp").host_ip
    '0.0.0.0'
    >>> parse_publish("80").host_port, parse_publish("127.0.0.1::80").host_port
    (0, 0)
    >>> parse_publish("[::1]:8080:80").host_ip
    '::1'
    >>> parse_publish("8080:80/udp")
    Traceback (most recent call last):
    ...
    minidock_magic.errors.InvalidArgument: only tcp ports can be published, not 'udp' (in '8080:80/udp')
    >>> parse_publish("http:80")
    Traceback (most recent call last):
    ...
    minidock_magic.errors.InvalidArgument: invalid port 'http' in publish spec 'http:80': a number from 1 to 65535
    """
    text, _, protocol = spec.strip().partition("/")
    protocol = protocol or "tcp"
    if protocol != "tcp":
        raise InvalidArgument(f"only tcp ports can be published, not {protocol!r} (in {spec!r})")
    if not text:
        raise InvalidArgument(f"invalid publish spec {spec!r}: "
                              "use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp]")
    host_part, _, container_text = text.rpartition(":")
    container_port = _port(container_text, spec)
    if not host_part:
        if text.startswith(":"):
            raise InvalidArgument(f"invalid publish spec {spec!r}: no host port before ':'")
        return PortBinding(DEFAULT_HOST_IP, 0, container_port)
    ip_text, _, host_text = host_part.rpartition(":")
    host_ip = _address(ip_text, spec) if ip_text else DEFAULT_HOST_IP
    host_port = _port(host_text, spec) if host_text else 0
    return PortBinding(host_ip, host_port, container_port)


def exposed_ports(exposed: dict[str, Any] | None) -> list[int]:
    """The image's ``EXPOSE``d tcp ports (``-P`` publishes them on free host ports).

    >>> exposed_ports({"80/tcp": {}, "53/udp": {}, "8080": {}})
    [80, 8080]
    """
    ports = []
    for key in exposed or {}:
        number, _, protocol = key.partition("/")
        if (protocol or "tcp") == "tcp" and number.isdigit():
            ports.append(int(number))
    return sorted(ports)


def bindings_for(specs: list[str], publish_all: bool,
                 exposed: dict[str, Any] | None) -> list[PortBinding]:
    """``-p`` bindings, then (with ``-P``) the exposed ports not already published.

    >>> [b.key for b in bindings_for(["8080:80"], True, {"80/tcp": {}, "443/tcp": {}})]
    ['80/tcp', '443/tcp']
    """
    bindings = [parse_publish(spec) for spec in specs]
    if publish_all:
        taken = {b.container_port for b in bindings}
        bindings += [PortBinding(DEFAULT_HOST_IP, 0, port) for port in exposed_ports(exposed)
                     if port not in taken]
    seen: set[tuple[str, int]] = set()
    for binding in bindings:
        if binding.host_port and (binding.host_ip, binding.host_port) in seen:
            raise InvalidArgument(f"host port {binding.host_port} is published twice")
        seen.add((binding.host_ip, binding.host_port))
    return bindings


def as_host_ports(bindings: list[PortBinding], why: str) -> list[PortBinding]:
    """For a container on the host's network (``why`` says so): nothing can be mapped, so each
    port is published as itself, and ``-p 8080:80`` is refused.

    >>> as_host_ports([PortBinding("127.0.0.1", 0, 80)], "shared")[0].host_port
    80
    >>> as_host_ports([PortBinding("127.0.0.1", 8080, 80)], "it shares the host's network")
    Traceback (most recent call last):
    ...
    minidock_magic.errors.InvalidArgument: it shares the host's network, so -p 8080:80 cannot be mapped: the program's port 80 is the host's port 80; publish it as -p 80:80
    """
    found = []
    for b in bindings:
        if b.host_port and b.host_port != b.container_port:
            raise InvalidArgument(
                f"{why}, so -p {b.host_port}:{b.container_port} cannot be mapped: the program's "
                f"port {b.container_port} is the host's port {b.container_port}; publish it as "
                f"-p {b.container_port}:{b.container_port}")
        found.append(PortBinding(b.host_ip, b.container_port, b.container_port, b.protocol))
    return found


def _host(binding: PortBinding) -> str:
    ip = f"[{binding.host_ip}]" if ":" in binding.host_ip else binding.host_ip
    return f"{ip}:{binding.host_port}"


def ps_column(bindings: list[PortBinding]) -> str:
    """``docker ps``'s PORTS column.

    >>> ps_column([PortBinding("127.0.0.1", 8080, 80), PortBinding("::1", 8443, 443)])
    '127.0.0.1:8080->80/tcp, [::1]:8443->443/tcp'
    """
    return ", ".join(f"{_host(b)}->{b.key}" for b in bindings)


def port_lines(bindings: list[PortBinding], private: str | None = None) -> list[str]:
    """``docker port C [PRIVATE_PORT[/tcp]]``: ``80/tcp -> 127.0.0.1:8080`` (or just the host
    side when a port is asked for).

    >>> port_lines([PortBinding("127.0.0.1", 8080, 80)])
    ['80/tcp -> 127.0.0.1:8080']
    >>> port_lines([PortBinding("127.0.0.1", 8080, 80)], "80")
    ['127.0.0.1:8080']
    """
    if private is None:
        return [f"{b.key} -> {_host(b)}" for b in bindings]
    key = private if "/" in private else f"{private}/tcp"
    return [_host(b) for b in bindings if b.key == key]


def inspect_ports(bindings: list[PortBinding]) -> dict[str, list[dict[str, str]]]:
    """``NetworkSettings.Ports`` (and, from the config, ``HostConfig.PortBindings``).

    >>> inspect_ports([PortBinding("127.0.0.1", 8080, 80)])
    {'80/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '8080'}]}
    """
    ports: dict[str, list[dict[str, str]]] = {}
    for b in bindings:
        ports.setdefault(b.key, []).append({"HostIp": b.host_ip,
                                            "HostPort": str(b.host_port) if b.host_port else ""})
    return ports
