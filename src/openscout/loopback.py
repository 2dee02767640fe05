"""Whether a host name or address means this machine: the server's bind and Host checks, and
whether this machine's price applies to a remote model's time (a server on loopback runs here)."""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def is_loopback(host: str) -> bool:
    """True for loopback addresses only: "127.0.0.1.evil.com" starts with "127." but is a
    name anyone can point anywhere."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def reaches_this_machine(host: str) -> bool:
    """Whether connecting to `host` reaches this machine, as written in a URL without a DNS
    lookup: loopback, the unspecified address servers print (`0.0.0.0`, `::`), an IPv4
    address mapped into IPv6, and the short forms the C library reads (`127.1`): each was
    "elsewhere", a model on this machine left without a cost (45th probe, low)."""
    name = host.strip("[]").rstrip(".").lower()
    if is_loopback(name):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        try:  # 127.1, 2130706433, 0x7f.1: what inet_aton, and so the connection, reads
            address = ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified
