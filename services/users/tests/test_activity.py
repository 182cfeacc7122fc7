"""Security activity: what is recorded, listed newest first to its owner only, erased with the account."""

from __future__ import annotations

from typing import Any

import asyncpg


async def _kinds(harness: Any, tokens: dict[str, Any]) -> list[str]:
    r = await harness.client.get("/api/v1/users/me/activity", headers=harness.bearer(tokens))
    assert r.status_code == 200, r.text
    return [item["kind"] for item in r.json()["items"]]


async def test_activity_records_sign_ins_failures_and_changes(harness: Any) -> None:
    user = await harness.register()
    r = await harness.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": "wrong password!"}
    )
    assert r.status_code == 401
    r = await harness.client.post(
        "/api/v1/auth/login",
        json={"email": user["email"], "password": harness.password},
        headers={"User-Agent": "agent/1"},
    )
    tokens = r.json()
    assert await _kinds(harness, tokens) == ["login", "login_failed"]
    item = (await harness.client.get("/api/v1/users/me/activity", headers=harness.bearer(tokens))).json()[
        "items"
    ][0]
    assert set(item) == {"id", "kind", "at", "ip", "user_agent"} and item["user_agent"] == "agent/1"

    other = await harness.login(user["email"])
    sessions = (await harness.client.get("/api/v1/users/me/sessions", headers=harness.bearer(tokens))).json()
    other_id = next(i["id"] for i in sessions["items"] if not i["current"])
    assert (
        await harness.client.delete(f"/api/v1/users/me/sessions/{other_id}", headers=harness.bearer(tokens))
    ).status_code == 204
    r = await harness.client.post(
        "/api/v1/users/me/password",
        json={"current_password": harness.password, "new_password": "another long passphrase"},
        headers=harness.bearer(tokens),
    )
    assert r.status_code == 204
    assert await _kinds(harness, tokens) == [
        "password_changed",
        "session_revoked",
        "login",
        "login",
        "login_failed",
    ]
    assert other  # its session was the one revoked

    r = await harness.client.get("/api/v1/users/me/activity?limit=2", headers=harness.bearer(tokens))
    page = r.json()
    assert [i["kind"] for i in page["items"]] == ["password_changed", "session_revoked"]
    r = await harness.client.get(
        f"/api/v1/users/me/activity?limit=2&cursor={page['next_cursor']}", headers=harness.bearer(tokens)
    )
    assert [i["kind"] for i in r.json()["items"]] == ["login", "login"]


async def test_activity_is_the_callers_own_and_erased_with_the_account(harness: Any) -> None:
    mine, my_tokens = await harness.account()
    _, their_tokens = await harness.account()
    assert await _kinds(harness, their_tokens) == ["login"]
    assert await _kinds(harness, my_tokens) == ["login"]
    assert (
        await harness.client.delete("/api/v1/users/me", headers=harness.bearer(my_tokens))
    ).status_code == 204
    conn = await asyncpg.connect(harness.db.url("users"))
    try:
        left = await conn.fetchval(
            "SELECT count(*) FROM users.security_events WHERE user_id = $1", mine["id"]
        )
    finally:
        await conn.close()
    assert left == 0


async def test_activity_needs_a_token_and_a_valid_cursor(harness: Any) -> None:
    assert (await harness.client.get("/api/v1/users/me/activity")).status_code == 401
    _, tokens = await harness.account()
    r = await harness.client.get("/api/v1/users/me/activity?cursor=bad!", headers=harness.bearer(tokens))
    assert r.status_code == 422


async def test_events_are_kept_400_days(harness: Any) -> None:
    from daybook_users import maintenance

    user, tokens = await harness.account()
    await harness.login(user["email"])
    conn = await harness.db.admin_connect()
    try:
        await conn.execute(
            "UPDATE users.security_events SET created_at = now() - interval '401 days' WHERE id = "
            "(SELECT id FROM users.security_events WHERE user_id = $1 ORDER BY id LIMIT 1)",
            user["id"],
        )
        purged = await maintenance.run_once(harness.settings)
        assert purged is not None and purged["security_events"] >= 1
    finally:
        await conn.close()
    assert await _kinds(harness, tokens) == ["login"]
