"""Profile changes with ETags, account deletion and its event, re-registration, the admin list."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from daybook_common.outage import TIMEOUT_DETAIL


async def test_patch_profile_absent_vs_null(harness: Any) -> None:
    user, tokens = await harness.account()
    auth = harness.bearer(tokens)
    r = await harness.client.patch(
        "/api/v1/users/me",
        json={"full_name": "Grace Hopper", "avatar_url": "https://example.com/g.png"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["full_name"] == "Grace Hopper" and body["avatar_url"] == "https://example.com/g.png"
    assert body["updated_at"] > user["updated_at"]
    # Absent: untouched. null: cleared.
    r = await harness.client.patch("/api/v1/users/me", json={"avatar_url": None}, headers=auth)
    assert r.status_code == 200
    assert r.json()["full_name"] == "Grace Hopper" and r.json()["avatar_url"] is None
    r = await harness.client.patch("/api/v1/users/me", json={}, headers=auth)
    assert r.status_code == 200 and r.json()["full_name"] == "Grace Hopper"


@pytest.mark.parametrize(
    "body",
    [
        {"email": "new@example.com"},
        {"is_superuser": True},
        {"is_active": False},
        {"id": str(uuid.uuid4())},
        {"full_name": "x" * 201},
        {"avatar_url": "javascript:alert(1)"},
        {"avatar_url": "ftp://example.com/a.png"},
        {"avatar_url": "https://" + "a" * 2048},
        {"full_name": 5},
    ],
)
async def test_patch_rejects_what_is_not_settable(harness: Any, body: dict[str, Any]) -> None:
    user, tokens = await harness.account()
    r = await harness.client.patch("/api/v1/users/me", json=body, headers=harness.bearer(tokens))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens))
    assert r.json()["is_superuser"] is False and r.json()["email"] == user["email"]


#: Each makes the URL read as something else or breaks the line it is shown on.
INVISIBLE = ["\x01", "\x1b", "\x7f", "\x85", "\x9b", "\n", "\t", "\u2028", "\u202e", "\u2066", "\u2069"]


async def test_avatar_url_refuses_invisible_formatting(harness: Any) -> None:
    """Control characters, line breaks and bidirectional formatting inside an otherwise fine https
    URL are a 422 naming ``avatar_url`` (``daybook_common.text``'s single-line rule); the URL
    without them is taken, and the document's pattern says so."""
    _, tokens = await harness.account()
    auth = harness.bearer(tokens)
    for bad in INVISIBLE:
        for url in (f"https://example.com/a{bad}b.png", f"https://example.com/ab.png{bad}"):
            r = await harness.client.patch("/api/v1/users/me", json={"avatar_url": url}, headers=auth)
            assert r.status_code == 422, (url, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            (error,) = r.json()["errors"]
            assert error["field"] == "avatar_url", error
            assert "bidirectional formatting" in error["message"] and "http(s) URL" in error["message"], error
    assert (await harness.client.get("/api/v1/users/me", headers=auth)).json()["avatar_url"] is None
    fine = "https://example.com/\u05e9\u05dc\u05d5\u05dd/caf\u00e9.png?s=64#x"
    r = await harness.client.patch("/api/v1/users/me", json={"avatar_url": fine}, headers=auth)
    assert r.status_code == 200 and r.json()["avatar_url"] == fine, r.text
    schemas = (await harness.client.get("/schema/openapi.json")).json()["components"]["schemas"]
    avatar = schemas["UserUpdate"]["properties"]["avatar_url"]  # a string or null: the rule is beside
    assert "\\u202a-\\u202e" in avatar["pattern"] and avatar["pattern"].startswith("^(?!"), avatar


async def test_if_match(harness: Any) -> None:
    _, tokens = await harness.account()
    auth = harness.bearer(tokens)
    etag = (await harness.client.get("/api/v1/users/me", headers=auth)).headers["etag"]
    r = await harness.client.patch(
        "/api/v1/users/me", json={"full_name": "One"}, headers={**auth, "If-Match": etag}
    )
    assert r.status_code == 200
    new_etag = r.headers["etag"]
    assert new_etag != etag
    r = await harness.client.patch(
        "/api/v1/users/me", json={"full_name": "Two"}, headers={**auth, "If-Match": etag}
    )
    assert r.status_code == 412
    assert r.headers["content-type"].startswith("application/problem+json")
    r = await harness.client.patch(
        "/api/v1/users/me", json={"full_name": "Two"}, headers={**auth, "If-Match": new_etag}
    )
    assert r.status_code == 200 and r.json()["full_name"] == "Two"
    r = await harness.client.patch(
        "/api/v1/users/me", json={"full_name": "Any"}, headers={**auth, "If-Match": "*"}
    )
    assert r.status_code == 200


async def test_two_patches_with_one_etag_give_one_200_and_one_412(
    harness: Any, concurrent_client: Any
) -> None:
    _, tokens = await harness.account()
    auth = harness.bearer(tokens)
    etag = (await harness.client.get("/api/v1/users/me", headers=auth)).headers["etag"]
    responses = await asyncio.gather(
        *(
            concurrent_client.patch(
                "/api/v1/users/me", json={"full_name": name}, headers={**auth, "If-Match": etag}
            )
            for name in ("Left", "Right")
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 412]


async def test_delete_account(harness: Any) -> None:
    user, tokens = await harness.account()
    other_session = await harness.login(user["email"])
    r = await harness.client.delete("/api/v1/users/me", headers=harness.bearer(tokens))
    assert r.status_code == 204 and r.content == b""

    # At once: no login, no refresh, the still-unexpired access token is refused.
    r = await harness.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": harness.password}
    )
    assert r.status_code == 401
    for session in (tokens, other_session):
        r = await harness.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
        )
        assert r.status_code == 401
    assert (await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens))).status_code == 401
    assert (
        await harness.client.delete("/api/v1/users/me", headers=harness.bearer(tokens))
    ).status_code == 401

    conn = await harness.db.admin_connect()
    try:
        row = await conn.fetchrow(
            "SELECT deleted_at, is_active FROM users.users WHERE id = $1", uuid.UUID(user["id"])
        )
        assert row["deleted_at"] is not None and row["is_active"] is False
        live = await conn.fetchval(
            "SELECT count(*) FROM users.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL",
            uuid.UUID(user["id"]),
        )
        assert live == 0
        events = await conn.fetch(
            "SELECT subject, payload, published_at FROM users.outbox WHERE payload->>'user_id' = $1",
            user["id"],
        )
    finally:
        await conn.close()
    assert len(events) == 1
    assert events[0]["subject"] == "users.user.deleted" and events[0]["published_at"] is None
    payload = json.loads(events[0]["payload"])
    assert payload["user_id"] == user["id"]
    assert payload["deleted_at"].startswith(row["deleted_at"].isoformat()[:19])

    # The address is free again: a new account, a new id.
    again = await harness.register(user["email"])
    assert again["id"] != user["id"]
    await harness.login(user["email"])


async def test_failed_delete_writes_no_event(harness: Any) -> None:
    conn = await harness.db.admin_connect()
    try:
        before = await conn.fetchval("SELECT count(*) FROM users.outbox")
        r = await harness.client.delete("/api/v1/users/me", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
        assert await conn.fetchval("SELECT count(*) FROM users.outbox") == before
    finally:
        await conn.close()


async def make_superuser(harness: Any, email: str) -> None:
    conn = await harness.db.admin_connect()
    try:
        await conn.execute(
            "UPDATE users.users SET is_superuser = true WHERE email = $1 AND deleted_at IS NULL", email
        )
    finally:
        await conn.close()


async def test_admin_list_needs_a_superuser(harness: Any) -> None:
    assert (await harness.client.get("/api/v1/admin/users")).status_code == 401
    _, tokens = await harness.account()
    r = await harness.client.get("/api/v1/admin/users", headers=harness.bearer(tokens))
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_admin_list_pages_through_live_users(harness: Any) -> None:
    admin, tokens = await harness.account()
    await make_superuser(harness, admin["email"])
    created = [await harness.register() for _ in range(5)]
    doomed, doomed_tokens = await harness.account()
    await harness.client.delete("/api/v1/users/me", headers=harness.bearer(doomed_tokens))

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await harness.client.get("/api/v1/admin/users", params=params, headers=harness.bearer(tokens))
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 3
        seen.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [u["id"] for u in seen]
    assert len(ids) == len(set(ids)) and pages >= 3
    assert ids == sorted(ids)  # stable order (UUIDv7: creation order)
    assert {u["id"] for u in created} | {admin["id"]} <= set(ids)
    assert doomed["id"] not in ids
    assert all("hashed_password" not in u for u in seen)


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"cursor": "!!!"}, {"cursor": "WyJub3QtYS11dWlkIl0"}]
)
async def test_admin_list_bad_paging_is_422(harness: Any, params: dict[str, Any]) -> None:
    admin, tokens = await harness.account()
    await make_superuser(harness, admin["email"])
    r = await harness.client.get("/api/v1/admin/users", params=params, headers=harness.bearer(tokens))
    assert r.status_code in {400, 422}, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_concurrent_registrations_of_one_email(harness: Any, concurrent_client: Any) -> None:
    email = harness.unique_email("race")
    variants = [email, email.upper(), f" {email} ", email.capitalize(), email, email.upper()]
    responses = await asyncio.gather(
        *(
            concurrent_client.post("/api/v1/auth/register", json={"email": v, "password": harness.password})
            for v in variants
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (len(variants) - 1), [r.text for r in responses]
    conn = await harness.db.admin_connect()
    try:
        assert await conn.fetchval("SELECT count(*) FROM users.users WHERE email = $1", email) == 1
    finally:
        await conn.close()


async def test_concurrent_deletes_queue_one_event(harness: Any, concurrent_client: Any) -> None:
    user, tokens = await harness.account()
    responses = await asyncio.gather(
        *(concurrent_client.delete("/api/v1/users/me", headers=harness.bearer(tokens)) for _ in range(3))
    )
    # A loser waits on the winner's row lock; on a stalled machine that wait can outlast
    # statement_timeout, which is the "took too long" 503 (CI once saw a 27 s stall), not an outage.
    assert all(
        r.status_code in {204, 401} or (r.status_code == 503 and r.json()["detail"] == TIMEOUT_DETAIL)
        for r in responses
    ), [(r.status_code, r.text) for r in responses]
    assert any(r.status_code == 204 for r in responses)
    conn = await harness.db.admin_connect()
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM users.outbox WHERE payload->>'user_id' = $1", user["id"]
        )
    finally:
        await conn.close()
    assert count == 1


@pytest.mark.parametrize("bad", ["\x01", "\x1b[2J", "\x7f", "\x85", "\n", "\t", "\u2028", "\u202e", "\u2068"])
async def test_full_name_is_one_line_without_invisible_formatting(harness: Any, bad: str) -> None:
    """A display name that renders as something else (control, line break, bidi override) is 422."""
    _, tokens = await harness.account()
    auth = harness.bearer(tokens)
    r = await harness.client.patch("/api/v1/users/me", json={"full_name": f"Ada{bad}Lovelace"}, headers=auth)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "full_name" and "bidirectional" in error["message"], error
    r = await harness.client.patch("/api/v1/users/me", json={"full_name": "Ada Lovelace שלום"}, headers=auth)
    assert r.status_code == 200 and r.json()["full_name"] == "Ada Lovelace שלום"
