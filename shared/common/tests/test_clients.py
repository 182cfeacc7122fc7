"""The client address behind trusted proxies (gateway rate limits, users' throttle and sessions)."""

from __future__ import annotations

import ipaddress

import pytest

from daybook_common.clients import ClientAddresses, client_address

TRUSTED = (
    ipaddress.ip_network("127.0.0.1/32"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("10.0.0.0/8"),
)


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("127.0.0.1", ["203.0.113.1, 198.51.100.7"], "198.51.100.7"),
        ("127.0.0.1", ["198.51.100.7, 10.1.2.3"], "198.51.100.7"),  # through two of our proxies
        ("127.0.0.1", ["203.0.113.1", "198.51.100.7"], "198.51.100.7"),  # several headers
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["10.0.0.1"], "10.0.0.1"),  # only proxies: the farthest one
        ("127.0.0.1", ["garbage"], "127.0.0.1"),
        ("127.0.0.1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("127.0.0.1", ["198.51.100.7:51234"], "198.51.100.7"),
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        ("::ffff:127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("192.0.2.50", ["198.51.100.7"], "192.0.2.50"),  # untrusted peer: header ignored
        ("testclient", ["198.51.100.7"], None),
        (None, ["198.51.100.7"], None),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], expected: str | None) -> None:
    address = client_address(peer, forwarded, TRUSTED)
    assert (str(address) if address is not None else None) == expected


def test_a_resolver_without_trusted_proxies_believes_no_header() -> None:
    resolver = ClientAddresses(())
    assert str(resolver.resolve("127.0.0.1", ["198.51.100.7"])) == "127.0.0.1"
    assert ClientAddresses(TRUSTED).is_trusted(ipaddress.ip_address("10.9.9.9"))
