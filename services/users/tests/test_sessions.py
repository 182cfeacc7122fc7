"""Sessions (refresh-token families): listed with the current one marked, revoked by their owner.

A revoked session's refresh token is refused at once and its access tokens get 401 from this
service at once (``users.denied_sessions``); the other services learn it from
``users.session.revoked``, queued here in the same transaction (checked in the outbox).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg


async def _login(harness: Any, email: str, agent: str) -> dict[str, Any]:
    r = await harness.client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": harness.password},
        headers={"User-Agent": agent},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_sessions_are_listed_newest_first_with_the_current_one(harness: Any) -> None:
    user = await harness.register()
    phone = await _login(harness, user["email"], "phone/1.0")
    laptop = await _login(harness, user["email"], "laptop/2.0")
    r = await harness.client.get("/api/v1/users/me/sessions", headers=harness.bearer(laptop))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [(i["user_agent"], i["current"]) for i in items] == [("laptop/2.0", True), ("phone/1.0", False)]
    assert r.json()["next_cursor"] is None
    for item in items:
        assert set(item) == {"id", "created_at", "last_used_at", "user_agent", "current"}
        assert item["last_used_at"] >= item["created_at"]
    # A refresh keeps the session (same id), moves last_used_at and records the newest agent.
    before = items[1]
    r = await harness.client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": phone["refresh_token"]},
        headers={"User-Agent": "phone/1.1"},
    )
    assert r.status_code == 200
    items = (await harness.client.get("/api/v1/users/me/sessions", headers=harness.bearer(laptop))).json()[
        "items"
    ]
    assert items[1]["id"] == before["id"] and items[1]["user_agent"] == "phone/1.1"
    assert items[1]["last_used_at"] > before["last_used_at"]
    # Pages of one.
    r = await harness.client.get("/api/v1/users/me/sessions?limit=1", headers=harness.bearer(laptop))
    page = r.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    r = await harness.client.get(
        f"/api/v1/users/me/sessions?limit=1&cursor={page['next_cursor']}", headers=harness.bearer(laptop)
    )
    assert [i["id"] for i in r.json()["items"]] == [items[1]["id"]]


async def test_logged_out_sessions_are_not_listed(harness: Any) -> None:
    user = await harness.register()
    first = await _login(harness, user["email"], "a")
    second = await _login(harness, user["email"], "b")
    r = await harness.client.post("/api/v1/auth/logout", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 204
    items = (await harness.client.get("/api/v1/users/me/sessions", headers=harness.bearer(second))).json()[
        "items"
    ]
    assert [i["user_agent"] for i in items] == ["b"]


async def test_revoking_a_session(harness: Any) -> None:
    user = await harness.register()
    phone = await _login(harness, user["email"], "phone")
    laptop = await _login(harness, user["email"], "laptop")
    items = (await harness.client.get("/api/v1/users/me/sessions", headers=harness.bearer(laptop))).json()[
        "items"
    ]
    phone_id = next(i["id"] for i in items if i["user_agent"] == "phone")
    r = await harness.client.delete(f"/api/v1/users/me/sessions/{phone_id}", headers=harness.bearer(laptop))
    assert r.status_code == 204, r.text
    # Its refresh token is refused at once; so is its access token, here.
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert r.status_code == 401
    r = await harness.client.get("/api/v1/users/me", headers=harness.bearer(phone))
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    # The other session goes on.
    assert (await harness.client.get("/api/v1/users/me", headers=harness.bearer(laptop))).status_code == 200
    r = await harness.client.post(
        "/api/v1/auth/refresh",
        json={"refresh_token": laptop["refresh_token"]},
        headers={"User-Agent": "laptop"},
    )
    assert r.status_code == 200
    items = (await harness.client.get("/api/v1/users/me/sessions", headers=harness.bearer(laptop))).json()[
        "items"
    ]
    assert [i["user_agent"] for i in items] == ["laptop"]
    # Revoked again, or never one: 404.
    r = await harness.client.delete(f"/api/v1/users/me/sessions/{phone_id}", headers=harness.bearer(laptop))
    assert r.status_code == 404
    # The event for the other services.
    conn = await asyncpg.connect(harness.db.url("users"))
    try:
        payload = await conn.fetchval(
            "SELECT payload FROM users.outbox WHERE subject = 'users.session.revoked' "
            "AND payload->>'session_id' = $1",
            phone_id,
        )
    finally:
        await conn.close()
    assert payload is not None and user["id"] in payload


async def test_another_users_session_is_404(harness: Any) -> None:
    _, mine = await harness.account()
    _, theirs = await harness.account()
    their_items = (
        await harness.client.get("/api/v1/users/me/sessions", headers=harness.bearer(theirs))
    ).json()["items"]
    r = await harness.client.delete(
        f"/api/v1/users/me/sessions/{their_items[0]['id']}", headers=harness.bearer(mine)
    )
    assert r.status_code == 404
    assert (await harness.client.get("/api/v1/users/me", headers=harness.bearer(theirs))).status_code == 200
    r = await harness.client.delete(f"/api/v1/users/me/sessions/{uuid.uuid4()}", headers=harness.bearer(mine))
    assert r.status_code == 404
    r = await harness.client.delete("/api/v1/users/me/sessions/not-a-uuid", headers=harness.bearer(mine))
    assert r.status_code in (404, 422)


async def test_sessions_need_a_token(harness: Any) -> None:
    assert (await harness.client.get("/api/v1/users/me/sessions")).status_code == 401
    r = await harness.client.delete(f"/api/v1/users/me/sessions/{uuid.uuid4()}")
    assert r.status_code == 401
