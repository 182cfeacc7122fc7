"""Token verification at the edge: the shared verifier (its JWKS refreshes are rate-limited)."""

from __future__ import annotations

import json

from daybook_common.auth import AuthSettings, TokenVerifier, http_jwks_loader, static_jwks_loader


def edge_verifier(auth: AuthSettings, jwks_timeout: float) -> TokenVerifier:
    if auth.jwks_json:
        loader = static_jwks_loader(json.loads(auth.jwks_json))
    elif auth.jwks_url:
        loader = http_jwks_loader(auth.jwks_url, timeout=jwks_timeout)
    else:  # pragma: no cover - settings always give a URL
        raise ValueError("token verification needs a JWKS URL or a JWKS document")
    return TokenVerifier(auth.issuer, auth.audience, loader, auth.jwks_refresh_interval)
