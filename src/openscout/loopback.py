"""Whether a host name or address means this machine: the server's bind and Host checks, and
whether this machine's price applies to a remote model's time (a server on loopback runs here)."""

from __future__ import annotations

import ipaddress

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
