"""Access-token verification shared by the gateway and every service.

Tokens are JWTs signed by the users service with ES256 and published as a JWKS.
Only the algorithms in the allow-list are accepted (so ``none`` and HS256 forged
with the public key are rejected); ``iss``, ``aud``, ``exp``, ``nbf``, ``sub`` are
checked.  An unknown ``kid`` triggers one JWKS refresh (rate-limited) so keys can
rotate without restarts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException
from litestar.types import Scope

ALGORITHMS = ("ES256",)
DEFAULT_ISSUER = "daybook-users"
DEFAULT_AUDIENCE = "daybook-api"
LEEWAY_SECONDS = 30
logger = logging.getLogger("daybook.auth")


class TokenError(Exception):
    """The token is missing, malformed, forged, expired or not meant for us."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    jti: str
    expires_at: int
    claims: dict[str, Any]


@dataclass(frozen=True)
class AuthSettings:
    issuer: str = DEFAULT_ISSUER
    audience: str = DEFAULT_AUDIENCE
    jwks_url: str | None = None
    jwks_json: str | None = None
    jwks_refresh_interval: float = 5.0


JwksLoader = Callable[[], Awaitable[dict[str, Any]]]


def http_jwks_loader(url: str, timeout: float = 5.0) -> JwksLoader:
    async def load() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
            session.get(url) as response,
        ):
            response.raise_for_status()
            data: dict[str, Any] = await response.json()
            return data

    return load


def static_jwks_loader(jwks: dict[str, Any]) -> JwksLoader:
    async def load() -> dict[str, Any]:
        return jwks

    return load


@dataclass
class TokenVerifier:
    issuer: str
    audience: str
    loader: JwksLoader
    refresh_interval: float = 5.0
    """Least time between two JWKS fetches (an unknown ``kid`` cannot make us fetch more often)."""
    max_key_age: float = 300.0
    """Keys are fetched again after this long, so a key the users service retired stops working."""
    cache_size: int = 20_000
    is_revoked: Callable[[uuid.UUID, int], bool] | None = None
    #: Whether the session of a token's ``sid`` claim was revoked (:mod:`daybook_common.denylist`).
    is_session_revoked: Callable[[str], bool] | None = None
    _keys: KeySet | None = field(default=None, init=False)
    _kids: set[str] = field(default_factory=set, init=False)
    _last_refresh: float = field(default=-1e9, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _cache: OrderedDict[bytes, AccessClaims] = field(default_factory=OrderedDict, init=False)
    """Verified tokens by :func:`_cache_key`: one entry per user a process serves, ~10,000 in the
    bench (issue 23, case 14), so each entry is kept small."""

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> TokenVerifier:
        import json

        if settings.jwks_json:
            loader = static_jwks_loader(json.loads(settings.jwks_json))
        elif settings.jwks_url:
            loader = http_jwks_loader(settings.jwks_url)
        else:
            raise ValueError("token verification needs a JWKS URL or a JWKS document")
        return cls(settings.issuer, settings.audience, loader, settings.jwks_refresh_interval)

    @property
    def has_keys(self) -> bool:
        return self._keys is not None

    async def refresh(self, force: bool = False) -> None:
        """Fetch the JWKS, unless (without ``force``) it was fetched less than ``refresh_interval`` ago."""
        async with self._lock:
            now = time.monotonic()
            if not force and self._keys is not None and now - self._last_refresh < self.refresh_interval:
                return
            self._last_refresh = now
            try:
                document = await self.loader()
                # Untrusted JSON, not yet a KeySetSerialization: import_key_set checks its shape
                # and whatever it rejects lands in the except below.
                keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except Exception as exc:  # a JWKS outage must not crash request handling
                logger.warning("could not load JWKS: %s", exc.__class__.__name__)
                return
            self._keys = keys
            self._kids = {str(key.kid) for key in keys.keys if key.kid}

    async def verify(self, token: str) -> AccessClaims:
        key = _cache_key(token)
        cached = self._cache.get(key)
        now = int(time.time())
        if cached is not None:
            if cached.expires_at + LEEWAY_SECONDS < now:
                self._cache.pop(key, None)
                raise TokenError("token expired")
            self._check_revoked(cached)
            return cached
        try:
            header = jws.extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, UnicodeEncodeError) as exc:
            raise TokenError("malformed token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise TokenError("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenError("token has no key id")
        if kid not in self._kids or time.monotonic() - self._last_refresh > self.max_key_age:
            await self.refresh()
        if kid not in self._kids or self._keys is None:
            raise TokenError("unknown signing key")
        try:
            decoded = jwt.decode(token, self._keys, algorithms=list(ALGORITHMS))
            registry = jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
                jti={"essential": True},
            )
            registry.validate(decoded.claims)
            claims = _shared_strings(decoded.claims)
            verified = AccessClaims(
                user_id=uuid.UUID(str(claims["sub"])),
                jti=str(claims["jti"]),
                expires_at=int(claims["exp"]),
                claims=claims,
            )
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            raise TokenError("invalid token") from exc
        self._check_revoked(verified)
        self._cache[key] = verified
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return verified

    def _check_revoked(self, claims: AccessClaims) -> None:
        if self.is_revoked is not None and self.is_revoked(claims.user_id, int(claims.claims.get("iat", 0))):
            raise TokenError("token revoked")
        sid = claims.claims.get("sid")
        if self.is_session_revoked is not None and isinstance(sid, str) and self.is_session_revoked(sid):
            raise TokenError("session revoked")


def _cache_key(token: str) -> bytes:
    """A 32-byte digest of the whole token: the cache holds it instead of the token (~400-700
    characters), and a different token cannot collide with a cached one."""
    return hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=32).digest()


#: Claims every token carries with the same value: one string object for all cached tokens.
_SHARED_CLAIMS = frozenset({"iss", "aud", "kid", "typ", "scope"})


def _shared_strings(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims of a verified (signed by us) token with its names and its constant values interned:
    the JSON decoder makes new strings for them per token, ~400 bytes of each cache entry."""
    return {
        sys.intern(name): sys.intern(value) if name in _SHARED_CLAIMS and isinstance(value, str) else value
        for name, value in claims.items()
    }


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


#: The one ``detail`` of every 401 for an access token, whatever was wrong with it: the reason
#: (expired, unknown key, revoked …) would tell a forger what to try next, so it goes to the log.
ACCESS_TOKEN_REFUSED = "Missing or invalid access token"


def unauthorized(detail: str = ACCESS_TOKEN_REFUSED) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": 'Bearer realm="daybook"'})


def token_refused(reason: str) -> NotAuthorizedException:
    """The generic 401 for a refused access token; ``reason`` is logged, never answered."""
    logger.info("access token refused: %s", reason, extra={"reason": reason})
    return unauthorized()


VERIFIER_STATE_KEY = "token_verifier"


def authorization_header(scope: Scope) -> str | None:
    """The request's first ``Authorization`` header, as ``request.headers.get`` would give it.

    Read straight from the ASGI scope: building Litestar's ``Headers`` (every header
    decoded into a multidict) just for this one costs more than the rest of a cached verify.
    """
    for name, value in scope["headers"]:
        if name == b"authorization" or name.lower() == b"authorization":
            return str(value.decode("latin-1"))
    return None


async def verified_caller(scope: Scope, verifier: TokenVerifier) -> AccessClaims:
    """The verified caller of the request in this ASGI ``scope``, or the 401 to raise.

    What :func:`provide_current_user` does, for code that runs before or without Litestar's
    dependency injection (e.g. an ASGI fast path); the same checks and the same errors.
    """
    token = bearer_token(authorization_header(scope))
    if token is None:
        raise unauthorized()
    try:
        return await verifier.verify(token)
    except TokenError as exc:
        raise token_refused(str(exc)) from None


async def provide_current_user(request: Request[Any, Any, Any], state: State) -> AccessClaims:
    """Litestar dependency: the verified caller, or 401 with ``WWW-Authenticate: Bearer``."""
    verifier: TokenVerifier = state[VERIFIER_STATE_KEY]
    return await verified_caller(request.scope, verifier)
