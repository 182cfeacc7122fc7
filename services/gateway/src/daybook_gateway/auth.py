"""Token verification at the edge: the shared verifier (its JWKS refreshes are rate-limited)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiohttp

from daybook_common.auth import AuthSettings, JwksLoader, TokenVerifier, http_jwks_loader, static_jwks_loader


def failover_jwks_loader(urls: Sequence[str], timeout: float) -> JwksLoader:
    """The keys from the first of ``urls`` that answers (one per users replica)."""
    loaders = [http_jwks_loader(url, timeout=timeout) for url in urls]

    async def load() -> dict[str, Any]:
        failure: Exception | None = None
        for loader in loaders:
            try:
                return await loader()
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                failure = exc
        assert failure is not None
        raise failure

    return load


def edge_verifier(auth: AuthSettings, jwks_timeout: float, jwks_urls: Sequence[str] = ()) -> TokenVerifier:
    if auth.jwks_json:
        loader = static_jwks_loader(json.loads(auth.jwks_json))
    elif auth.jwks_url:
        loader = failover_jwks_loader(jwks_urls or (auth.jwks_url,), jwks_timeout)
    else:  # pragma: no cover - settings always give a URL
        raise ValueError("token verification needs a JWKS URL or a JWKS document")
    return TokenVerifier(auth.issuer, auth.audience, loader, auth.jwks_refresh_interval)
