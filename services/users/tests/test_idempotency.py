"""``Idempotency-Key`` on register: replay within the TTL, one account, nothing password-derived stored."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from daybook_users import maintenance
from daybook_users.auth.services import register_fingerprint as fingerprint

REGISTER = "/api/v1/auth/register"


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": f"register-{uuid.uuid4()}"}


async def stored_row(harness: Any, key: str) -> Any:
    conn = await harness.db.admin_connect()
    try:
        return await conn.fetchrow("SELECT * FROM users.idempotency_keys WHERE key = $1", key)
    finally:
        await conn.close()


async def accounts_with(harness: Any, email: str) -> int:
    conn = await harness.db.admin_connect()
    try:
        return int(await conn.fetchval("SELECT count(*) FROM users.users WHERE email = $1", email))
    finally:
        await conn.close()


async def test_a_retry_returns_the_first_response_and_creates_one_account(harness: Any) -> None:
    key, email = new_key(), harness.unique_email("idem")
    body = {"email": email, "password": harness.password, "full_name": "Ada"}
    first = await harness.client.post(REGISTER, json=body, headers=key)
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    # The same request after normalisation: other key order, case and spacing of the email.
    again = await harness.client.post(
        REGISTER,
        json={"full_name": " Ada ", "password": harness.password, "email": f" {email.upper()}"},
        headers=key,
    )
    assert again.status_code == 201, again.text
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"] == "/api/v1/users/me"
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-type"].startswith("application/json")
    assert again.headers["idempotent-replayed"] == "true"
    assert await accounts_with(harness, email) == 1
    assert (await harness.login(email))["access_token"]


async def test_the_same_key_with_another_body_is_a_422(harness: Any) -> None:
    key, email = new_key(), harness.unique_email("idem")
    body = {"email": email, "password": harness.password, "full_name": "Ada"}
    assert (await harness.client.post(REGISTER, json=body, headers=key)).status_code == 201
    other_email = harness.unique_email("other")
    for changed in (
        {**body, "full_name": "Grace"},
        {**body, "email": other_email},
        {**body, "password": "another long password"},
        {"email": email, "password": harness.password},
    ):
        r = await harness.client.post(REGISTER, json=changed, headers=key)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await accounts_with(harness, other_email) == 0
    # The original request is still replayed after the rejected ones.
    r = await harness.client.post(REGISTER, json=body, headers=key)
    assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"


async def test_key_length_is_limited(harness: Any) -> None:
    body = {"email": harness.unique_email("long"), "password": harness.password}
    r = await harness.client.post(REGISTER, json=body, headers={"Idempotency-Key": "x" * 256})
    assert r.status_code == 422, r.text
    r = await harness.client.post(REGISTER, json=body, headers={"Idempotency-Key": "x" * 255})
    assert r.status_code == 201, r.text


async def test_without_a_key_register_behaves_as_before(harness: Any) -> None:
    email = harness.unique_email("plain")
    body = {"email": email, "password": harness.password}
    first = await harness.client.post(REGISTER, json=body)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    assert first.headers["location"] == "/api/v1/users/me" and first.headers["etag"]
    again = await harness.client.post(REGISTER, json=body)
    assert again.status_code == 409, again.text
    conn = await harness.db.admin_connect()
    try:
        rows = await conn.fetchval(
            "SELECT count(*) FROM users.idempotency_keys WHERE user_id = $1", uuid.UUID(first.json()["id"])
        )
    finally:
        await conn.close()
    assert rows == 0


async def test_the_stored_row_holds_no_password(harness: Any) -> None:
    key, email = new_key(), harness.unique_email("secret")
    password = f"pw-{uuid.uuid4().hex}"
    r = await harness.client.post(
        REGISTER, json={"email": email, "password": password, "full_name": "Ada"}, headers=key
    )
    assert r.status_code == 201, r.text
    row = await stored_row(harness, key["Idempotency-Key"])
    assert row is not None
    for column, value in dict(row).items():
        raw = value if isinstance(value, bytes) else str(value).encode()
        assert password.encode() not in raw, column
    # The request hash is a function of the normalised email and name only.
    assert row["request_hash"] == fingerprint(email, "Ada")
    assert json.loads(row["response_body"]) == r.json()
    assert "hashed_password" not in json.loads(row["response_body"])
    assert row["user_id"] == uuid.UUID(r.json()["id"]) and row["status_code"] == 201


async def test_a_failed_register_keeps_no_key(harness: Any) -> None:
    taken = (await harness.register())["email"]
    key = new_key()
    r = await harness.client.post(REGISTER, json={"email": taken, "password": harness.password}, headers=key)
    assert r.status_code == 409
    assert await stored_row(harness, key["Idempotency-Key"]) is None
    fresh = harness.unique_email("fresh")
    r = await harness.client.post(REGISTER, json={"email": fresh, "password": harness.password}, headers=key)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers


async def test_wrong_password_retries_are_throttled_like_logins(harness: Any) -> None:
    key, email = new_key(), harness.unique_email("guess")
    body = {"email": email, "password": harness.password}
    assert (await harness.client.post(REGISTER, json=body, headers=key)).status_code == 201
    limit = harness.settings.throttle.max_failures_per_email
    for i in range(limit):
        r = await harness.client.post(REGISTER, json={**body, "password": f"guess number {i}"}, headers=key)
        assert r.status_code == 422, r.text
    r = await harness.client.post(REGISTER, json=body, headers=key)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


async def test_expired_keys_are_new_and_get_purged(harness: Any) -> None:
    old_key, kept_key = new_key(), new_key()
    body = {"email": harness.unique_email("old"), "password": harness.password}
    first = await harness.client.post(REGISTER, json=body, headers=old_key)
    assert first.status_code == 201
    r = await harness.client.post(
        REGISTER, json={"email": harness.unique_email("kept"), "password": harness.password}, headers=kept_key
    )
    assert r.status_code == 201
    conn = await harness.db.admin_connect()
    try:
        await conn.execute(
            "UPDATE users.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1",
            old_key["Idempotency-Key"],
        )
        # Past the TTL the key is forgotten: another body with it registers instead of a 422.
        other = {"email": harness.unique_email("reuse"), "password": harness.password}
        r = await harness.client.post(REGISTER, json=other, headers=old_key)
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers
        assert r.json()["id"] != first.json()["id"]
        await conn.execute(
            "UPDATE users.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1",
            old_key["Idempotency-Key"],
        )
        purged = await maintenance.run_once(harness.settings)
        assert purged is not None and purged["idempotency_keys"] >= 1
        keys = {
            row["key"]
            for row in await conn.fetch(
                "SELECT key FROM users.idempotency_keys WHERE key = ANY($1)",
                [old_key["Idempotency-Key"], kept_key["Idempotency-Key"]],
            )
        }
        assert keys == {kept_key["Idempotency-Key"]}
    finally:
        await conn.close()


async def test_deleting_the_account_forgets_its_key(harness: Any) -> None:
    key, email = new_key(), harness.unique_email("gone")
    body = {"email": email, "password": harness.password}
    first = await harness.client.post(REGISTER, json=body, headers=key)
    assert first.status_code == 201
    tokens = await harness.login(email)
    assert (
        await harness.client.delete("/api/v1/users/me", headers=harness.bearer(tokens))
    ).status_code == 204
    assert await stored_row(harness, key["Idempotency-Key"]) is None  # it held the email
    r = await harness.client.post(REGISTER, json=body, headers=key)
    assert r.status_code == 201 and r.json()["id"] != first.json()["id"]


async def test_concurrent_retries_with_one_key_create_one_account(
    harness: Any, concurrent_client: httpx.AsyncClient
) -> None:
    key, email = new_key(), harness.unique_email("race")
    body = {"email": email, "password": harness.password}
    responses = await asyncio.gather(
        *(concurrent_client.post(REGISTER, json=body, headers=key) for _ in range(4))
    )
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 3
    assert await accounts_with(harness, email) == 1


async def test_openapi_documents_the_header(harness: Any) -> None:
    doc = (await harness.client.get("/schema/openapi.json")).json()
    params = doc["paths"][REGISTER]["post"]["parameters"]
    header = next(p for p in params if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and header["required"] is False
    assert (header["schema"]["minLength"], header["schema"]["maxLength"]) == (1, 255)
