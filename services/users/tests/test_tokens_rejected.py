"""Forged, expired and misdirected access tokens are refused with 401 + WWW-Authenticate: Bearer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from daybook_devtools.testing.tokens import TestSigner


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


def claims_for(user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "daybook-users",
        "aud": "daybook-api",
        "sub": user_id,
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture(scope="module")
async def victim(harness: Any) -> dict[str, Any]:
    user, tokens = await harness.account()
    return {"user": user, "tokens": tokens}


def signing_key(harness: Any) -> ECKey:
    key: ECKey = harness.app.state["users_runtime"].keys.signing
    return key


def sign_real(harness: Any, claims: dict[str, Any], **header: Any) -> str:
    key = signing_key(harness)
    return jwt.encode({"alg": "ES256", "kid": str(key.kid), **header}, claims, key)


async def assert_rejected(harness: Any, token: str) -> None:
    r = await harness.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_the_genuine_token_works(harness: Any, victim: dict[str, Any]) -> None:
    r = await harness.client.get("/api/v1/users/me", headers=harness.bearer(victim["tokens"]))
    assert r.status_code == 200
    # ... and so does one we sign ourselves with the real key and valid claims (the forgeries below
    # differ from it in one way each).
    assert (
        await harness.client.get(
            "/api/v1/users/me", headers=harness.bearer(sign_real(harness, claims_for(victim["user"]["id"])))
        )
    ).status_code == 200


async def test_alg_none(harness: Any, victim: dict[str, Any]) -> None:
    kid = str(signing_key(harness).kid)
    token = compact(
        {"alg": "none", "kid": kid, "typ": "JWT"}, claims_for(victim["user"]["id"]), lambda _: b""
    )
    await assert_rejected(harness, token)
    await assert_rejected(harness, token.rstrip("."))


async def test_hs256_signed_with_the_public_key(harness: Any, victim: dict[str, Any]) -> None:
    key = signing_key(harness)
    claims = claims_for(victim["user"]["id"])
    header = {"alg": "HS256", "kid": str(key.kid), "typ": "JWT"}
    for secret in (key.as_pem(private=False), json.dumps(key.as_dict(private=False)).encode()):
        token = compact(header, claims, lambda data, s=secret: hmac.new(s, data, hashlib.sha256).digest())
        await assert_rejected(harness, token)


async def test_expired(harness: Any, victim: dict[str, Any]) -> None:
    past = int(time.time()) - 3600
    claims = claims_for(victim["user"]["id"], iat=past - 900, nbf=past - 900, exp=past)
    await assert_rejected(harness, sign_real(harness, claims))


async def test_not_yet_valid(harness: Any, victim: dict[str, Any]) -> None:
    future = int(time.time()) + 3600
    await assert_rejected(harness, sign_real(harness, claims_for(victim["user"]["id"], nbf=future)))


async def test_tampered_payload(harness: Any, victim: dict[str, Any]) -> None:
    other, _ = await harness.account()
    header, _, signature = victim["tokens"]["access_token"].split(".")
    forged = b64(json.dumps(claims_for(other["id"])).encode())
    await assert_rejected(harness, f"{header}.{forged}.{signature}")
    # and a flipped bit in the signature of the genuine token
    token = victim["tokens"]["access_token"]
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    await assert_rejected(harness, flipped)


async def test_wrong_audience(harness: Any, victim: dict[str, Any]) -> None:
    await assert_rejected(harness, sign_real(harness, claims_for(victim["user"]["id"], aud="someone-else")))


async def test_wrong_issuer(harness: Any, victim: dict[str, Any]) -> None:
    await assert_rejected(harness, sign_real(harness, claims_for(victim["user"]["id"], iss="evil-issuer")))


@pytest.mark.parametrize("missing", ["sub", "exp", "jti", "iss", "aud"])
async def test_missing_claim(harness: Any, victim: dict[str, Any], missing: str) -> None:
    await assert_rejected(harness, sign_real(harness, claims_for(victim["user"]["id"], **{missing: None})))


async def test_other_key_even_with_our_kid(harness: Any, victim: dict[str, Any]) -> None:
    stranger = ECKey.generate_key("P-256", private=True)
    kid = str(signing_key(harness).kid)
    token = jwt.encode({"alg": "ES256", "kid": kid}, claims_for(victim["user"]["id"]), stranger)
    await assert_rejected(harness, token)
    await assert_rejected(harness, TestSigner().token(victim["user"]["id"]))  # unknown kid


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer ....", "Token abc"],
)
async def test_malformed_authorization(harness: Any, authorization: str) -> None:
    r = await harness.client.get("/api/v1/users/me", headers={"Authorization": authorization})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_valid_token_of_an_unknown_user(harness: Any) -> None:
    await assert_rejected(harness, sign_real(harness, claims_for(str(uuid.uuid4()))))
