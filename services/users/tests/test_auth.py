"""Registration, login, /users/me, refresh rotation and reuse detection, logout, password change."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher

from daybook_common.auth import TokenError

USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "email_verified_at",
    "avatar_url",
    "is_active",
    "is_superuser",
    "created_at",
    "updated_at",
}


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def test_register_login_me(harness: Any) -> None:
    email = harness.unique_email("ada")
    r = await harness.client.post(
        "/api/v1/auth/register",
        json={"email": f"  {email.upper()} ", "password": harness.password, "full_name": "Ada"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/api/v1/users/me"
    user = r.json()
    assert set(user) == USER_FIELDS
    assert user["email"] == email  # trimmed and lower-case
    assert user["full_name"] == "Ada" and user["avatar_url"] is None
    assert user["is_active"] is True and user["is_superuser"] is False
    assert uuid.UUID(user["id"]).version == 7
    assert user["created_at"].endswith(("Z", "+00:00"))

    r = await harness.client.post(
        "/api/v1/auth/login", json={"email": email.title(), "password": harness.password}
    )
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert len(tokens["refresh_token"]) >= 43  # >= 256 bits, url-safe base64
    assert r.headers["cache-control"] == "no-store"

    r = await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens))
    assert r.status_code == 200, r.text
    assert r.json() == user
    assert r.headers["etag"]


async def test_issued_tokens_verify_with_the_shared_verifier(harness: Any) -> None:
    user, tokens = await harness.account()
    r = await harness.client.get("/api/v1/auth/jwks")
    assert r.status_code == 200
    jwks = r.json()
    assert jwks["keys"] and all("d" not in key for key in jwks["keys"])  # public halves only
    assert {key["kty"] for key in jwks["keys"]} == {"EC"}
    from daybook_common.auth import TokenVerifier, static_jwks_loader

    verifier = TokenVerifier("daybook-users", "daybook-api", static_jwks_loader(jwks))
    claims = await verifier.verify(tokens["access_token"])
    assert claims.user_id == uuid.UUID(user["id"])
    assert set(claims.claims) >= {"sub", "exp", "iat", "nbf", "jti", "iss", "aud"}
    assert claims.claims["exp"] - claims.claims["iat"] == 900
    other = TokenVerifier("daybook-users", "another-api", static_jwks_loader(jwks))
    with pytest.raises(TokenError):
        await other.verify(tokens["access_token"])


async def test_no_secret_in_any_response(harness: Any) -> None:
    _, tokens = await harness.account()
    r = await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens))
    text = r.text.lower()
    assert "argon2" not in text and "hashed_password" not in text and tokens["refresh_token"] not in r.text


@pytest.mark.parametrize(
    "variant",
    [str.upper, lambda e: f"  {e}  ", lambda e: f"\t{e.capitalize()}\n"],
    ids=["upper", "spaces", "mixed"],
)
async def test_duplicate_email_in_another_form_is_409(harness: Any, variant: Any) -> None:
    email = harness.unique_email("dup")
    await harness.register(email)
    r = await harness.client.post(
        "/api/v1/auth/register", json={"email": variant(email), "password": harness.password}
    )
    body = assert_problem(r, 409)
    assert "exists" in body["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-address", "password": "long enough pw"}, "email"),
        ({"email": "a@b", "password": "long enough pw"}, "email"),
        ({"email": "two@@example.com", "password": "long enough pw"}, "email"),
        ({"email": "", "password": "long enough pw"}, "email"),
        ({"email": "ok@example.com", "password": "short"}, "password"),
        ({"email": "ok@example.com", "password": "x" * 129}, "password"),
        ({"email": "ok@example.com"}, "password"),
        ({"password": "long enough pw"}, "email"),
        ({"email": "ok@example.com", "password": "long enough pw", "full_name": "n" * 201}, "full_name"),
        ({"email": "ok@example.com", "password": "long enough pw", "is_superuser": True}, "is_superuser"),
        ({"email": "ok@example.com", "password": "long enough pw", "id": str(uuid.uuid4())}, "id"),
        ({"email": 42, "password": "long enough pw"}, "email"),
    ],
)
async def test_registration_validation_is_422(harness: Any, body: dict[str, Any], field: str) -> None:
    r = await harness.client.post("/api/v1/auth/register", json=body)
    problem = assert_problem(r, 422)
    assert field in {e["field"] for e in problem["errors"]}, problem


async def test_password_length_bounds_are_inclusive(harness: Any) -> None:
    for password in ("p" * 8, "p" * 128, "\u00e9" * 8):  # 8 characters (16 bytes in UTF-8)
        await harness.register(password=password)


async def test_malformed_json_is_a_problem(harness: Any) -> None:
    r = await harness.client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code in {400, 422}
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_unknown_email_and_wrong_password_are_identical(harness: Any) -> None:
    user = await harness.register()
    wrong = await harness.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": "wrong password"}
    )
    unknown = await harness.client.post(
        "/api/v1/auth/login", json={"email": harness.unique_email("ghost"), "password": "wrong password"}
    )
    assert_problem(wrong, 401)
    assert_problem(unknown, 401)
    assert wrong.content == unknown.content
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]
    assert wrong.headers["www-authenticate"].startswith("Bearer")


async def test_refresh_rotates_and_reuse_revokes_the_family(harness: Any) -> None:
    _, first = await harness.account()
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await harness.client.get("/api/v1/users/me", headers=harness.bearer(second))).status_code == 200

    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 200
    third = r.json()

    # The first token was spent: presenting it again is reuse → 401, and the family is revoked.
    assert_problem(
        await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}), 401
    )
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert_problem(r, 401)


async def test_reuse_denies_the_access_tokens_of_the_family(harness: Any) -> None:
    """A replayed refresh token means it leaked: the access tokens its family handed out (the
    thief's as well as the owner's) get 401 at once here, and the other services are told by
    ``users.session.revoked``, as when the owner revokes the session."""
    user, first = await harness.account()
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    thief = r.json()
    other = await harness.login(user["email"])  # another session of the same account
    assert (await harness.client.get("/api/v1/users/me", headers=harness.bearer(thief))).status_code == 200

    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(r, 401)
    for tokens in (first, thief):
        r = await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens))
        assert_problem(r, 401)
    assert (await harness.client.get("/api/v1/users/me", headers=harness.bearer(other))).status_code == 200
    payload_part = thief["access_token"].split(".")[1]
    family = json.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4)))["sid"]
    conn = await asyncpg.connect(harness.db.url("users"))
    try:
        payload = await conn.fetchval(
            "SELECT payload FROM users.outbox WHERE subject = 'users.session.revoked' "
            "AND payload->>'session_id' = $1",
            family,
        )
    finally:
        await conn.close()
    assert payload is not None and user["id"] in payload


async def test_reuse_revokes_only_that_family(harness: Any) -> None:
    user, phone = await harness.account()
    laptop = await harness.login(user["email"])
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert r.status_code == 200
    await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})  # reuse
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert r.status_code == 200, r.text


async def test_concurrent_refresh_with_one_token(harness: Any, concurrent_client: Any) -> None:
    """One wins; the others present a token that is spent by then, which is reuse: the family
    (including the winner's new token) is revoked. A stolen token raced against its owner cannot
    yield a session that survives."""
    _, tokens = await harness.account()
    responses = await asyncio.gather(
        *(
            concurrent_client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
            for _ in range(4)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 401, 401, 401], [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": winner["refresh_token"]})
    assert r.status_code == 401


@pytest.mark.parametrize("token", ["", "x" * 600, "definitely-not-issued"])
async def test_refresh_with_garbage(harness: Any, token: str) -> None:
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    assert r.status_code in {401, 422}
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_logout_spends_the_refresh_token(harness: Any) -> None:
    user, tokens = await harness.account()
    other_session = await harness.login(user["email"])
    r = await harness.client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 204 and r.content == b""
    assert_problem(
        await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        401,
    )
    # Logging out again, or with a token we never issued, is harmless and says nothing.
    r = await harness.client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 204
    r = await harness.client.post("/api/v1/auth/logout", json={"refresh_token": "never-issued"})
    assert r.status_code == 204
    # Other sessions of the same user live on.
    r = await harness.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other_session["refresh_token"]}
    )
    assert r.status_code == 200


async def test_logout_ends_the_sessions_access_tokens_too(harness: Any) -> None:
    """Logging out ends the session: its access token gets 401 at once here (and in the other
    services by one ``users.session.revoked``, however often the token is presented again)."""
    user, tokens = await harness.account()
    other = await harness.login(user["email"])
    for _ in range(2):
        r = await harness.client.post("/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
        assert r.status_code == 204
    assert_problem(await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens)), 401)
    assert (await harness.client.get("/api/v1/users/me", headers=harness.bearer(other))).status_code == 200
    conn = await asyncpg.connect(harness.db.url("users"))
    try:
        events = await conn.fetchval(
            "SELECT count(*) FROM users.outbox WHERE subject = 'users.session.revoked' "
            "AND payload->>'user_id' = $1",
            user["id"],
        )
    finally:
        await conn.close()
    assert events == 1


async def test_logout_after_rotation_ends_the_session(harness: Any) -> None:
    _, first = await harness.account()
    second = (
        await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    r = await harness.client.post("/api/v1/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 204
    assert_problem(
        await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}),
        401,
    )


async def test_password_change_revokes_every_refresh_token(harness: Any) -> None:
    user, one = await harness.account()
    two = await harness.login(user["email"])
    new_password = "a brand new passphrase"

    r = await harness.client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not it at all", "new_password": new_password},
        headers=harness.bearer(one),
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["field"] == "current_password"

    r = await harness.client.post(
        "/api/v1/users/me/password",
        json={"current_password": harness.password, "new_password": "short"},
        headers=harness.bearer(one),
    )
    assert_problem(r, 422)

    r = await harness.client.post(
        "/api/v1/users/me/password",
        json={"current_password": harness.password, "new_password": new_password},
        headers=harness.bearer(one),
    )
    assert r.status_code == 204, r.text
    for tokens in (one, two):
        r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert_problem(r, 401)
    r = await harness.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": harness.password}
    )
    assert_problem(r, 401)
    await harness.login(user["email"], new_password)


def _sid(tokens: dict[str, Any]) -> str:
    payload_part = tokens["access_token"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload_part + "=" * (-len(payload_part) % 4)))["sid"])


async def test_password_change_ends_the_other_sessions_at_once(harness: Any) -> None:
    """The access tokens of the account's other sessions get 401 at once here (and in the other
    services by one ``users.session.revoked`` each); the caller's own access token keeps working,
    its refresh token is revoked with the rest (API.md). A session ended before is left alone."""
    user, mine = await harness.account()
    phone, laptop, gone = [await harness.login(user["email"]) for _ in range(3)]
    r = await harness.client.post("/api/v1/auth/logout", json={"refresh_token": gone["refresh_token"]})
    assert r.status_code == 204
    for tokens in (mine, phone, laptop):
        assert (
            await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens))
        ).status_code == 200

    r = await harness.client.post(
        "/api/v1/users/me/password",
        json={"current_password": harness.password, "new_password": "a brand new passphrase"},
        headers=harness.bearer(mine),
    )
    assert r.status_code == 204, r.text
    for tokens in (phone, laptop, gone):
        assert_problem(await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens)), 401)
        r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert_problem(r, 401)
    assert (await harness.client.get("/api/v1/users/me", headers=harness.bearer(mine))).status_code == 200
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": mine["refresh_token"]})
    assert_problem(r, 401)
    conn = await asyncpg.connect(harness.db.url("users"))
    try:
        ended = await conn.fetch(
            "SELECT payload->>'session_id' AS sid FROM users.outbox "
            "WHERE subject = 'users.session.revoked' AND payload->>'user_id' = $1",
            user["id"],
        )
    finally:
        await conn.close()
    assert sorted(row["sid"] for row in ended) == sorted([_sid(phone), _sid(laptop), _sid(gone)])


async def test_password_endpoint_needs_a_token(harness: Any) -> None:
    r = await harness.client.post(
        "/api/v1/users/me/password", json={"current_password": "whatever1", "new_password": "whatever2"}
    )
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


async def test_login_rehashes_when_parameters_change(harness: Any, make_harness: Any) -> None:
    from litestar.testing import AsyncTestClient

    weak_app, _, _ = make_harness(USERS_ARGON2_MEMORY_KIB="8192", USERS_ARGON2_TIME_COST="1")
    email = harness.unique_email("rehash")
    async with AsyncTestClient(weak_app) as weak:
        r = await weak.post("/api/v1/auth/register", json={"email": email, "password": harness.password})
        assert r.status_code == 201

    async def stored_hash() -> str:
        conn = await harness.db.admin_connect()
        try:
            return str(await conn.fetchval("SELECT hashed_password FROM users.users WHERE email = $1", email))
        finally:
            await conn.close()

    before = await stored_hash()
    assert before.startswith("$argon2id$") and "m=8192,t=1,p=1" in before
    await harness.login(email)  # the default app: m=19456, t=2, p=1
    after = await stored_hash()
    assert "m=19456,t=2,p=1" in after
    assert PasswordHasher().verify(after, harness.password)
    await harness.login(email)
    assert await stored_hash() == after  # no needless rehash once current


async def test_inactive_account_cannot_log_in_or_use_its_token(harness: Any) -> None:
    user, tokens = await harness.account()
    conn = await harness.db.admin_connect()
    try:
        await conn.execute("UPDATE users.users SET is_active = false WHERE id = $1", uuid.UUID(user["id"]))
    finally:
        await conn.close()
    r = await harness.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": harness.password}
    )
    unknown = await harness.client.post(
        "/api/v1/auth/login", json={"email": harness.unique_email(), "password": harness.password}
    )
    assert_problem(r, 401)
    assert r.content == unknown.content
    assert_problem(await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens)), 401)
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(r, 401)
