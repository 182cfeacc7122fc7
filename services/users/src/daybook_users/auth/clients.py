"""Who is calling: the client address (behind trusted proxies only) and user agent."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from daybook_users.db.models import USER_AGENT_MAX_LENGTH
from daybook_users.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ClientInfo:
    """The caller's address and user agent (a plain class: Litestar does not re-validate it)."""

    __slots__ = ("ip", "user_agent")

    def __init__(self, ip: IPAddress | None, user_agent: str | None) -> None:
        self.ip = ip
        self.user_agent = user_agent


def _parse(value: str | None) -> IPAddress | None:
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


def _trusted(address: IPAddress, proxies: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: list[str], trusted_proxies: Iterable[IPNetwork]
) -> IPAddress | None:
    """The caller's address.

    ``X-Forwarded-For`` is believed only when the direct peer is a trusted proxy; then the hops are
    read right to left and the first one that is not itself a trusted proxy is the client (a client
    can put anything on the left of the header, but not on the right of what our proxy appended).
    """
    proxies = tuple(trusted_proxies)
    address = _parse(peer)
    if address is None or not _trusted(address, proxies):
        return address
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_address = _parse(hop)
        if hop_address is None:
            return address  # garbage from a hop we cannot vouch for: stop at the last one we trust
        address = hop_address
        if not _trusted(address, proxies):
            return address
    return address


def user_agent(value: str | None) -> str | None:
    if not value:
        return None
    return value[:USER_AGENT_MAX_LENGTH]
