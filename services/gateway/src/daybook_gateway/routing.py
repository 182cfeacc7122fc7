"""The routing table: public path prefix → upstream service, and the upstreams' HTTP clients."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp

from daybook_gateway.settings import Settings

# Paths are forwarded unchanged; each service serves its public paths itself.
PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/v1/auth", "users"),
    ("/api/v1/users", "users"),
    ("/api/v1/admin", "users"),
    ("/api/v1/journal", "journal"),
    ("/api/v1/tasks", "journal"),
    ("/api/v1/goals", "journal"),
    ("/api/v1/activities", "journal"),
    ("/api/v1/templates", "journal"),
    ("/api/v1/sessions", "journal"),
    ("/api/v1/reminders", "reminders"),
    ("/api/v1/notifications", "reminders"),
)
# Reachable without an access token (register, login, refresh, logout, jwks); rate limits: rules.py.
PUBLIC_PREFIXES = frozenset({"/api/v1/auth"})

# aiohttp must not invent request headers the client did not send (a gzip body for a client that
# never asked for one, a made-up content type …).
SKIP_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


@dataclass
class Upstream:
    """One service behind the gateway, with its own pooled keep-alive HTTP client."""

    name: str
    base_url: str
    settings: Settings
    session: aiohttp.ClientSession | None = field(default=None, repr=False)

    def client(self) -> aiohttp.ClientSession:
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
            )
        return self.session

    async def close(self) -> None:
        if self.session is not None and not self.session.closed:
            await self.session.close()
        self.session = None


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
