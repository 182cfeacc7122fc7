"""Per-client rate limiting and client address resolution."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from functools import lru_cache

from daybook_gateway.settings import IPNetwork, RateLimit


class TokenBucketLimiter:
    """In-memory token buckets keyed by client address (one process; each worker limits on its own).

    A bucket holds ``requests`` tokens and refills at ``requests / window`` per second, so a
    client can burst up to the limit and then continues at the average rate.  Idle buckets are
    dropped once the table grows, which bounds memory under address spraying.
    """

    def __init__(
        self, limit: RateLimit, *, max_clients: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.capacity = float(limit.requests)
        self.rate = limit.requests / limit.window
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_clients:
                self._prune(now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.capacity]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > self.max_clients:  # everyone is active: drop the oldest entries
            del self._buckets[next(iter(self._buckets))]


class ClientAddress:
    """The client's address: the TCP peer, or — when the peer is a trusted proxy — the right-most
    address in ``X-Forwarded-For`` that is not itself a trusted proxy."""

    def __init__(self, trusted: tuple[IPNetwork, ...]) -> None:
        self.trusted = trusted

        @lru_cache(maxsize=4096)
        def is_trusted(host: str) -> bool:
            try:
                address = ipaddress.ip_address(host.strip())
            except ValueError:
                return False
            return any(address in network for network in trusted)

        self.is_trusted = is_trusted

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        if not forwarded_for or not self.trusted or not self.is_trusted(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        return hops[0] if hops else peer
