"""Rate limits shared by every gateway replica and worker, and client address resolution.

The counters live in NATS JetStream, which every replica already reaches: a stream of
counters (``allow_msg_counter``, NATS ≥ 2.12), where a publish with ``Nats-Incr: +n`` adds
``n`` to the subject's total atomically and the acknowledgement carries the new total — one
round trip per check, whatever the number of replicas.  A counter's subject is
``ratelimit.<rule>.<client>.<window>``: the client is a digest of its address (an IPv6 client
by its /64; the address itself is not stored), the window the number of the fixed window
(``now // length``) it counts in, so a new window starts at zero and old ones expire with the
stream's ``max_age``.  Fixed windows allow up to twice the limit across a window boundary; the
limits are set with that in mind.

NATS unreachable, or slower than ``GATEWAY_RATE_LIMIT_TIMEOUT``: the request passes unlimited
(fail open: a limit must not take the API down with it), without ``RateLimit-*`` headers, and a
warning is logged at most once a minute per process.  The users service's own login throttle
(PostgreSQL, per account and per address) still holds then.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from daybook_common.clients import ClientAddresses, parse_address
from daybook_gateway.rules import RateLimit, Rule
from daybook_gateway.settings import IPNetwork, Settings

logger = logging.getLogger("daybook.gateway.limits")

STREAM = "DAYBOOK_RATE_LIMITS"
SUBJECT_PREFIX = "ratelimit"
WARN_EVERY = 60.0  # seconds between two "limits not enforced" warnings of one process
RECONNECT_WAIT = 2.0


class SharedCounters:
    """Counters in a JetStream counter stream, shared by every process that reaches the server."""

    def __init__(self, url: str, max_age: float, timeout: float) -> None:
        self.url = url
        self.max_age = max_age
        self.timeout = timeout
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._warned_at = -math.inf

    def start(self) -> None:
        """Connect in the background: the gateway serves (unlimited) until NATS answers.

        The client's own retrying is kept short and reconnecting off (its retry loops can swallow a
        cancellation, so a gateway could not stop while NATS is down): this loop retries, checking
        between attempts whether the gateway is stopping, and a lost connection closes the client,
        so the next :meth:`add` starts the loop again.
        """
        self._task = asyncio.create_task(self._connect())

    async def _connect(self) -> None:
        while not self._closing:
            try:
                nc = await nats.connect(
                    self.url,
                    name="daybook-gateway",
                    connect_timeout=2,
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0.5,
                    error_cb=self._on_error,
                )
            except Exception as exc:
                self.unavailable(f"cannot connect ({exc.__class__.__name__})")
                await asyncio.sleep(RECONNECT_WAIT)
                continue
            try:
                js = nc.jetstream(timeout=max(self.timeout, 2.0))
                await ensure_stream(js, self.max_age)
            except Exception as exc:
                self.unavailable(f"cannot set up the stream ({exc.__class__.__name__})")
                await nc.close()
                await asyncio.sleep(RECONNECT_WAIT)
                continue
            if self._closing:
                await nc.close()
                return
            self._nc, self._js = nc, js
            return

    async def _on_error(self, exc: Exception) -> None:
        self.unavailable(exc.__class__.__name__)  # instead of the client's own error line per attempt

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def add(self, subject: str, amount: int) -> int | None:
        """The subject's total after adding ``amount`` (0 reads it); ``None`` when NATS cannot say."""
        nc, js = self._nc, self._js
        if nc is None or js is None or not nc.is_connected:
            if nc is not None and nc.is_closed and not self._closing:  # lost: connect again
                self._nc = self._js = None
                self.start()
            self.unavailable("not connected")
            return None
        try:
            ack = await js.publish(subject, b"", timeout=self.timeout, headers={"Nats-Incr": f"+{amount}"})
        except Exception as exc:  # a timeout, a broken connection, a refusal: fail open
            self.unavailable(exc.__class__.__name__)
            return None
        if ack.val is None:  # a stream without counters
            self.unavailable(f"{STREAM} does not count")
            return None
        return int(ack.val)

    def unavailable(self, reason: str) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            logger.warning(
                "rate limits not enforced: NATS unavailable (%s)", reason, extra={"nats": self.url}
            )

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5)
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()


def stream_config(max_age: float) -> StreamConfig:
    return StreamConfig(
        name=STREAM,
        subjects=[f"{SUBJECT_PREFIX}.>"],
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=max_age,
        max_msgs_per_subject=1,  # a counter's last message holds its total
        allow_msg_counter=True,
    )


async def ensure_stream(js: JetStreamContext, max_age: float) -> None:
    """Create the counter stream, or bring an existing one to this configuration."""
    config = stream_config(max_age)
    try:
        await js.add_stream(config)
    except BadRequestError:  # it exists with another configuration (another max_age)
        await js.update_stream(config)


@dataclass(frozen=True)
class Verdict:
    """One request's standing under its rule; ``count`` as known after the check."""

    rule: Rule
    limit: RateLimit
    subject: str
    count: int
    reset: float  # seconds until the window ends

    @property
    def refused(self) -> bool:
        if self.rule.counts == "attempts":
            return self.count > self.limit.requests
        return self.count >= self.limit.requests

    def headers(self) -> list[tuple[bytes, bytes]]:
        """``RateLimit-*`` for any answer on a limited route (a 429 adds ``Retry-After``: the reset)."""
        return [
            (b"ratelimit-limit", str(self.limit.requests).encode()),
            (b"ratelimit-remaining", str(max(0, self.limit.requests - self.count)).encode()),
            (b"ratelimit-reset", self.reset_seconds()),
        ]

    def reset_seconds(self) -> bytes:
        return str(max(1, math.ceil(self.reset))).encode()


class RateLimiter:
    """Matches requests to their rule and keeps their counts in :class:`SharedCounters`."""

    def __init__(
        self,
        limits: tuple[tuple[Rule, RateLimit], ...],
        counters: SharedCounters,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.rules = {(rule.method, rule.path): (rule, limit) for rule, limit in limits}
        self.counters = counters
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter | None:
        if not settings.rate_limits:
            return None
        longest = max(limit.window for _, limit in settings.rate_limits)
        return cls(
            settings.rate_limits, SharedCounters(settings.nats_url, longest, settings.rate_limit_timeout)
        )

    def match(self, method: str, path: str) -> tuple[Rule, RateLimit] | None:
        return self.rules.get((method, path.rstrip("/") or "/"))

    def _client(self, address: str) -> str:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            key = address
        else:
            key = str(ipaddress.IPv6Network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)
        return hashlib.blake2b(key.encode(), digest_size=12).hexdigest()

    async def check(self, rule: Rule, limit: RateLimit, address: str) -> Verdict | None:
        """Before forwarding: count an attempt, or read the failures so far. ``None``: fail open."""
        now = self.clock()
        window = int(now // limit.window)
        subject = f"{SUBJECT_PREFIX}.{rule.name}.{self._client(address)}.{window}"
        count = await self.counters.add(subject, 1 if rule.counts == "attempts" else 0)
        if count is None:
            return None
        return Verdict(rule, limit, subject, count, (window + 1) * limit.window - now)

    async def answered(self, verdict: Verdict, status: int) -> Verdict:
        """After the upstream answered: a failure counts now."""
        if verdict.rule.counts != "failures" or status not in verdict.rule.failures:
            return verdict
        count = await self.counters.add(verdict.subject, 1)
        if count is None:
            return verdict
        return Verdict(verdict.rule, verdict.limit, verdict.subject, count, verdict.reset)


class ClientAddress:
    """The client's address as a rate-limit key (:mod:`daybook_common.clients` resolves it); a peer
    that is not an address (a test client) is its own key."""

    def __init__(self, trusted: tuple[IPNetwork, ...]) -> None:
        self.addresses = ClientAddresses(trusted)

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        address = self.addresses.resolve(peer, (forwarded_for,) if forwarded_for else ())
        return peer if address is None else str(address)

    def is_trusted(self, host: str) -> bool:
        """Whether ``host`` (the TCP peer) is one of the trusted proxies."""
        address = parse_address(host)
        return address is not None and self.addresses.is_trusted(address)
