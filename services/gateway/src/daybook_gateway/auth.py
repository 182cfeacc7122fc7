"""Token verification at the edge, with a guard against JWKS refresh storms."""

from __future__ import annotations

import asyncio
import time

from daybook_common.auth import AuthSettings, TokenVerifier, http_jwks_loader, static_jwks_loader

FORCED_REFRESH_INTERVAL = 5.0


class EdgeVerifier(TokenVerifier):
    """The shared verifier, except that an unknown ``kid`` refreshes the JWKS at most once per
    ``FORCED_REFRESH_INTERVAL`` seconds: the gateway faces the internet, and tokens with made-up key
    ids must not turn into one JWKS request to the users service each."""

    _edge_lock: asyncio.Lock | None = None

    async def refresh(self, force: bool = False) -> None:
        if force and self._recently_refreshed():
            return
        if self._edge_lock is None:
            self._edge_lock = asyncio.Lock()
        async with self._edge_lock:
            if force and self._recently_refreshed():
                return
            await super().refresh(force)

    def _recently_refreshed(self) -> bool:
        return time.monotonic() - self._last_refresh < FORCED_REFRESH_INTERVAL

    @property
    def has_keys(self) -> bool:
        return self._keys is not None


def edge_verifier(auth: AuthSettings, jwks_timeout: float) -> EdgeVerifier:
    import json

    if auth.jwks_json:
        loader = static_jwks_loader(json.loads(auth.jwks_json))
    elif auth.jwks_url:
        loader = http_jwks_loader(auth.jwks_url, timeout=jwks_timeout)
    else:  # pragma: no cover - settings always give a URL
        raise ValueError("token verification needs a JWKS URL or a JWKS document")
    return EdgeVerifier(auth.issuer, auth.audience, loader, auth.jwks_refresh_interval)
