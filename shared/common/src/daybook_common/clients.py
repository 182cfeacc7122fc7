"""The client's address behind trusted proxies: one resolver for the gateway's rate limits and
the users service's login throttle and session records.

``X-Forwarded-For`` is believed only when the direct peer is a trusted proxy; then the hops
are read right to left and the first one that is not itself a trusted proxy is the client (a
client can put anything on the left of the header, but not on the right of what our proxy
appended). A hop that is not an address stops the walk at the last address we can vouch for.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4096)
def parse_address(value: str | None) -> IPAddress | None:
    """An address as a peer or a hop gives it (``[v6]:port`` and ``v4:port`` too), or ``None``.

    An IPv4-mapped IPv6 address is its IPv4 address.
    """
    if not value:
        return None
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientAddresses:
    """Resolves client addresses for one set of trusted proxies."""

    def __init__(self, trusted_proxies: Iterable[IPNetwork]) -> None:
        self.trusted_proxies = tuple(trusted_proxies)
        self.is_trusted = lru_cache(maxsize=4096)(self._is_trusted)

    def _is_trusted(self, address: IPAddress) -> bool:
        return any(address in network for network in self.trusted_proxies)

    def resolve(self, peer: str | None, forwarded_for: Iterable[str]) -> IPAddress | None:
        """The client's address; ``forwarded_for`` is every ``X-Forwarded-For`` header, in order."""
        address = parse_address(peer)
        if address is None or not self.trusted_proxies or not self.is_trusted(address):
            return address
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            hop_address = parse_address(hop)
            if hop_address is None:
                return address  # garbage from a hop we cannot vouch for: stop at the last one we trust
            address = hop_address
            if not self.is_trusted(address):
                return address
        return address


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted_proxies: Iterable[IPNetwork]
) -> IPAddress | None:
    """:meth:`ClientAddresses.resolve` for a one-off call."""
    return ClientAddresses(trusted_proxies).resolve(peer, forwarded_for)


__all__ = ["ClientAddresses", "IPAddress", "IPNetwork", "client_address", "parse_address"]
