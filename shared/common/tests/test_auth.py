"""The shared token verifier: only ES256 from the JWKS, right issuer/audience, not expired, rotating keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from typing import Any

import pytest
from joserfc.jwk import ECKey, KeySet

from daybook_common.auth import TokenError, TokenVerifier, static_jwks_loader
from daybook_devtools.testing.tokens import TestSigner


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None = None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64(signature)}"


def verifier_for(*signers: TestSigner) -> TokenVerifier:
    keys = KeySet([s.key for s in signers]).as_dict(private=False)
    return TokenVerifier("daybook-users", "daybook-api", static_jwks_loader(dict(keys)))


def claims_for(user_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": str(user_id),
        "iss": "daybook-users",
        "aud": "daybook-api",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "x",
        **extra,
    }


async def test_valid_token_gives_the_user() -> None:
    signer = TestSigner()
    user_id = uuid.uuid4()
    claims = await verifier_for(signer).verify(signer.token(user_id))
    assert claims.user_id == user_id


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 3600},
        {"aud": "someone-else"},
        {"iss": "evil"},
        {"nbf": int(time.time()) + 3600},
        {"sub": None},
        {"jti": None},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "not-yet-valid", "no-subject", "no-jti"],
)
async def test_bad_claims_are_rejected(overrides: dict[str, Any]) -> None:
    signer = TestSigner()
    with pytest.raises(TokenError):
        await verifier_for(signer).verify(signer.token(uuid.uuid4(), **overrides))


async def test_alg_none_and_hs256_with_public_key_are_rejected() -> None:
    signer = TestSigner()
    verifier = verifier_for(signer)
    claims = claims_for(uuid.uuid4())
    with pytest.raises(TokenError):
        await verifier.verify(forged({"alg": "none", "kid": signer.key.kid}, claims))
    public_pem = signer.key.as_pem(private=False)
    with pytest.raises(TokenError):
        await verifier.verify(forged({"alg": "HS256", "kid": signer.key.kid}, claims, public_pem))


async def test_tampered_token_and_foreign_key_are_rejected() -> None:
    signer, stranger = (
        TestSigner(),
        TestSigner(key=ECKey.generate_key("P-256", parameters={"kid": "test-key-1"})),
    )
    token = signer.token(uuid.uuid4())
    head, _body, sig = token.split(".")
    other_body = b64(json.dumps(claims_for(uuid.uuid4())).encode())
    verifier = verifier_for(signer)
    with pytest.raises(TokenError):
        await verifier.verify(f"{head}.{other_body}.{sig}")
    with pytest.raises(TokenError):
        await verifier.verify(stranger.token(uuid.uuid4()))  # same kid, wrong key
    with pytest.raises(TokenError):
        await verifier.verify("not-a-jwt")


async def test_unknown_kid_refreshes_the_jwks_once_for_rotation() -> None:
    old = TestSigner()
    new = TestSigner(key=ECKey.generate_key("P-256", parameters={"kid": "test-key-2"}))
    published: dict[str, Any] = dict(KeySet([old.key]).as_dict(private=False))
    loads = 0

    async def loader() -> dict[str, Any]:
        nonlocal loads
        loads += 1
        return published

    verifier = TokenVerifier("daybook-users", "daybook-api", loader, refresh_interval=0)
    await verifier.verify(old.token(uuid.uuid4()))
    published = dict(KeySet([old.key, new.key]).as_dict(private=False))  # rotation: both keys published
    await verifier.verify(new.token(uuid.uuid4()))
    await verifier.verify(old.token(uuid.uuid4()))
    assert loads == 2


async def test_revocation_hook_applies_to_cached_tokens() -> None:
    signer = TestSigner()
    verifier = verifier_for(signer)
    revoked: set[uuid.UUID] = set()
    verifier.is_revoked = lambda user_id, iat: user_id in revoked
    user_id = uuid.uuid4()
    token = signer.token(user_id)
    await verifier.verify(token)
    revoked.add(user_id)
    with pytest.raises(TokenError):
        await verifier.verify(token)


async def test_every_refused_access_token_gets_one_generic_detail(caplog: pytest.LogCaptureFixture) -> None:
    """The reason (expired, unknown key, …) is logged, never answered (issue 12)."""
    from litestar.exceptions import NotAuthorizedException

    from daybook_common.auth import ACCESS_TOKEN_REFUSED, verified_caller

    signer = TestSigner()
    verifier = TokenVerifier(signer.issuer, signer.audience, static_jwks_loader(signer.jwks))
    user = uuid.uuid4()
    caplog.set_level(logging.INFO, logger="daybook.auth")
    for authorization in (None, "Bearer junk", signer.headers(user, ttl=-3600)["Authorization"]):
        scope = {"headers": [(b"authorization", authorization.encode())] if authorization else []}
        with pytest.raises(NotAuthorizedException) as refused:
            await verified_caller(scope, verifier)
        assert refused.value.detail == ACCESS_TOKEN_REFUSED
    assert len([r for r in caplog.records if r.getMessage().startswith("access token refused: ")]) == 2


async def test_cached_tokens_stay_small_and_answer_the_same() -> None:
    """A process that serves 10,000 users caches 10,000 tokens (issue 23, case 14): each entry holds
    a digest of its token and shares the claim names, ~840 bytes (the token itself and the decoder's
    own strings made it ~1,700); a cached answer is the verified one."""
    import gc
    import tracemalloc

    signer = TestSigner()
    verifier = verifier_for(signer)
    tokens = [signer.token(uuid.uuid4()) for _ in range(2_001)]
    first = await verifier.verify(tokens[0])
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for token in tokens[1:]:
            await verifier.verify(token)
        gc.collect()
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / 2_000
    finally:
        tracemalloc.stop()
    assert per_entry < 1_000, f"{per_entry:.0f} bytes per cached token"
    again = await verifier.verify(tokens[0])
    assert again is first and again.claims["iss"] == "daybook-users"
    with pytest.raises(TokenError):
        await verifier.verify(tokens[0][:-4] + "AAAA")  # not the cached token: verified, and refused
