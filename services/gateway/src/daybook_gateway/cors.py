"""CORS for the configured frontend origins, answered at the edge (preflights never reach a service)."""

from __future__ import annotations

from collections.abc import Sequence

Headers = list[tuple[bytes, bytes]]

ALLOW_METHODS = b"GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
ALLOW_HEADERS = b"Authorization, Content-Type, Accept, Accept-Language, Idempotency-Key, If-Match, If-None-Match, X-Request-ID"
EXPOSE_HEADERS = (
    b"ETag, Location, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, "
    b"WWW-Authenticate, X-Request-ID"
)


class CorsPolicy:
    """Exact-match origin allow-list (``*`` allows any origin; credentials are not used: tokens travel in
    the ``Authorization`` header, never cookies)."""

    def __init__(self, origins: Sequence[str], max_age: int = 600) -> None:
        self.any_origin = "*" in origins
        self.origins = frozenset(o.encode("latin-1") for o in origins if o != "*")
        self.enabled = bool(origins)
        self.max_age = str(max_age).encode()

    def allowed(self, origin: bytes) -> bool:
        return self.any_origin or origin in self.origins

    def response_headers(self, origin: bytes | None) -> Headers:
        """Headers for an actual (non-preflight) response."""
        if not self.enabled:
            return []
        if origin is None or not self.allowed(origin):
            return [(b"vary", b"Origin")]
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-expose-headers", EXPOSE_HEADERS),
            (b"vary", b"Origin"),
        ]

    def preflight_headers(self, origin: bytes) -> Headers:
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-methods", ALLOW_METHODS),
            (b"access-control-allow-headers", ALLOW_HEADERS),
            (b"access-control-max-age", self.max_age),
            (b"vary", b"Origin"),
        ]
