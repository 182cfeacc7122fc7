"""The routing table: public path prefix → upstream service, and the upstreams' HTTP clients.

A service may run as several replicas (``GATEWAY_JOURNAL_URL=http://a:8002,http://b:8002``):
requests take them in turn (round-robin per gateway process), and a replica that fails at the
connection level (refused, reset, closed, connect timeout) is *ejected* — left out of the turn —
for ``GATEWAY_UPSTREAM_EJECT_SECONDS``, then tried again by the next request that comes its way.
When every replica is ejected they are all tried anyway (an outage is reported, not invented).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import aiohttp

from daybook_gateway.settings import Settings
from daybook_gateway.upstream_http import ConnectionPool

# Paths are forwarded unchanged; each service serves its public paths itself.
PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/v1/auth", "users"),
    ("/api/v1/users", "users"),
    ("/api/v1/admin", "users"),
    ("/api/v1/journal", "journal"),
    ("/api/v1/tasks", "journal"),
    ("/api/v1/goals", "journal"),
    ("/api/v1/activities", "journal"),
    ("/api/v1/activity-groups", "journal"),
    ("/api/v1/templates", "journal"),
    ("/api/v1/sessions", "journal"),
    ("/api/v1/reminders", "reminders"),
    ("/api/v1/notifications", "reminders"),
)
# Long-lived responses (Server-Sent Events): forwarded through each replica's stream pool,
# without the total timeout and outside the pool of ordinary requests (see Upstream.connections).
STREAM_PATHS = frozenset({"/api/v1/notifications/stream"})
# Reachable without an access token (register, login, refresh, logout, jwks); rate limits: rules.py.
PUBLIC_PREFIXES = frozenset({"/api/v1/auth"})

# aiohttp must not invent request headers the client did not send (a gzip body for a client that
# never asked for one, a made-up content type …).
SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


@dataclass(eq=False)
class Replica:
    """One process of a service: its base URL and until when it is left out of the rotation."""

    url: str
    ejected_until: float = 0.0
    #: The proxy's keep-alive connections to this replica (ordinary requests, live streams).
    pool: ConnectionPool | None = field(default=None, repr=False)
    stream_pool: ConnectionPool | None = field(default=None, repr=False)

    def available(self, now: float) -> bool:
        return self.ejected_until <= now


@dataclass
class Upstream:
    """One service behind the gateway (one or more replicas): each replica has its own pools of
    keep-alive connections for proxied requests (:mod:`daybook_gateway.upstream_http`); an aiohttp
    session serves the gateway's side requests."""

    name: str
    base_urls: tuple[str, ...]
    settings: Settings
    session: aiohttp.ClientSession | None = field(default=None, repr=False)
    #: Tracing on: OpenTelemetry's aiohttp trace config (a client span, ``traceparent`` passed on).
    trace_configs: tuple[aiohttp.TraceConfig, ...] = field(default=(), repr=False)
    replicas: tuple[Replica, ...] = field(init=False)
    _turn: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.base_urls:
            raise ValueError(f"{self.name}: no replica URL")
        self.replicas = tuple(Replica(url) for url in self.base_urls)

    def pick(self, tried: tuple[Replica, ...] = ()) -> Replica:
        """The next replica in turn that is neither ejected nor already tried for this request;
        if there is none, the next untried one (or, all tried, the next one) regardless."""
        replicas = self.replicas
        if len(replicas) == 1:
            return replicas[0]
        now = time.monotonic()
        count = len(replicas)
        start = self._turn
        self._turn = (start + 1) % count
        fallback: Replica | None = None
        for offset in range(count):
            replica = replicas[(start + offset) % count]
            if replica in tried:
                continue
            if replica.available(now):
                return replica
            fallback = fallback or replica
        return fallback or replicas[start]

    def eject(self, replica: Replica) -> None:
        """Leave ``replica`` out of the rotation for a while (it failed at the connection level)."""
        replica.ejected_until = time.monotonic() + self.settings.eject_seconds

    @property
    def attempts(self) -> int:
        """How many replicas one retryable request may try: each at most once, three at most."""
        return min(len(self.replicas), 3)

    def connections(self, replica: Replica, streaming: bool) -> ConnectionPool:
        """The proxy's pool for ``replica``: for ordinary requests the total and read timeouts and
        ``max_connections``; for ``STREAM_PATHS`` no total timeout, ``stream_idle_timeout`` between
        reads (the service's heartbeat keeps it from firing), ``stream_connect_timeout`` (a burst
        of reconnecting clients, see Settings) and ``stream_max_connections``, so
        open streams never take the connections ordinary requests need."""
        s = self.settings
        if streaming:
            if replica.stream_pool is None:
                replica.stream_pool = self._pool(
                    replica, s.stream_max_connections, s.stream_connect_timeout, s.stream_idle_timeout, None
                )
            return replica.stream_pool
        if replica.pool is None:
            replica.pool = self._pool(
                replica, s.max_connections, s.connect_timeout, s.read_timeout, s.total_timeout
            )
        return replica.pool

    def _pool(
        self,
        replica: Replica,
        limit: int,
        connect_timeout: float,
        read_timeout: float,
        total_timeout: float | None,
    ) -> ConnectionPool:
        s = self.settings
        return ConnectionPool(
            replica.url,
            limit=limit,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            total_timeout=total_timeout,
            keepalive_timeout=s.keepalive_timeout,
        )

    def client(self) -> aiohttp.ClientSession:
        """aiohttp, for the gateway's side requests (readiness, OpenAPI, export parts)."""
        if self.session is None or self.session.closed:
            s = self.settings
            connector = aiohttp.TCPConnector(
                limit=s.max_connections,
                limit_per_host=0,
                keepalive_timeout=s.keepalive_timeout,
                ttl_dns_cache=10,
            )
            self.session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=s.total_timeout, sock_connect=s.connect_timeout, sock_read=s.read_timeout
                ),
                cookie_jar=aiohttp.DummyCookieJar(),  # never carry one user's cookies to another
                auto_decompress=False,
                skip_auto_headers=SKIP_AUTO_HEADERS,
                raise_for_status=False,
                trace_configs=list(self.trace_configs) or None,
            )
        return self.session

    async def close(self) -> None:
        if self.session is not None and not self.session.closed:
            await self.session.close()
        self.session = None
        for replica in self.replicas:
            for pool in (replica.pool, replica.stream_pool):
                if pool is not None:
                    await pool.close()
            replica.pool = replica.stream_pool = None


@dataclass(frozen=True)
class Route:
    prefix: str
    upstream: Upstream
    public: bool

    def matches(self, path: str) -> bool:
        return path.startswith(self.prefix) and (
            len(path) == len(self.prefix) or path[len(self.prefix)] == "/"
        )


def build_routes(upstreams: dict[str, Upstream]) -> tuple[Route, ...]:
    return tuple(
        Route(prefix, upstreams[name], prefix in PUBLIC_PREFIXES)
        for prefix, name in sorted(PREFIXES, key=lambda p: -len(p[0]))
    )


def prefixes_of(service: str) -> tuple[str, ...]:
    return tuple(prefix for prefix, name in PREFIXES if name == service)
