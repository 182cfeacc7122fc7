"""History and admin through the gateway: entry revisions (the full behaviour:
services/journal/tests/test_revisions.py), and the admin's deactivate/activate/delete of accounts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest

PASSWORD = "correct horse battery staple"
ENTRIES = "/api/v1/journal/entries"


def _account(http: httpx.Client) -> dict[str, str]:
    email = f"history-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_an_entry_keeps_its_earlier_versions_and_restores_one(http: httpx.Client) -> None:
    alice, bob = _account(http), _account(http)
    r = http.post(
        ENTRIES, json={"title": "draft", "content": "v1", "entry_date": "2026-01-22T10:00:00Z"}, headers=alice
    )
    assert r.status_code == 201, r.text
    entry = r.json()["id"]
    r = http.patch(f"{ENTRIES}/{entry}", json={"title": "final", "content": "v2"}, headers=alice)
    assert r.status_code == 200, r.text

    r = http.get(f"{ENTRIES}/{entry}/revisions", headers=alice)
    assert r.status_code == 200, r.text
    (revision,) = r.json()["items"]
    assert (revision["revision"], revision["title"], revision["content"]) == (1, "draft", "v1")
    assert http.get(f"{ENTRIES}/{entry}/revisions", headers=bob).status_code == 404

    restore = f"{ENTRIES}/{entry}/revisions/1/restore"
    assert http.post(restore, headers={**alice, "If-Match": '"1"'}).status_code == 412
    r = http.post(restore, headers={**alice, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["content"], r.headers["ETag"]) == ("draft", "v1", '"3"')
    items = http.get(f"{ENTRIES}/{entry}/revisions", headers=alice).json()["items"]
    assert [(i["revision"], i["content"]) for i in items] == [(2, "v2"), (1, "v1")]


def _login(http: httpx.Client, email: str) -> httpx.Response:
    return http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})


def _member(http: httpx.Client) -> tuple[str, dict[str, str], str]:
    """A new account: its email, auth header and refresh token."""
    email = f"member-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    r = _login(http, email)
    assert r.status_code == 200, r.text
    return email, {"Authorization": f"Bearer {r.json()['access_token']}"}, r.json()["refresh_token"]


@pytest.fixture(scope="module")
def admin(http: httpx.Client, stack_admin_dsn: str) -> dict[str, str]:
    email, headers, _ = _member(http)

    async def promote() -> None:
        conn = await asyncpg.connect(stack_admin_dsn)
        try:
            await conn.execute("UPDATE users.users SET is_superuser = true WHERE email = $1", email)
        finally:
            await conn.close()

    asyncio.run(promote())
    return headers


def _eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time limit"
        time.sleep(0.1)


#: One read of each service (tasks too: the journal service, another router).
PER_SERVICE = ("/api/v1/users/me", "/api/v1/journal/entries", "/api/v1/tasks", "/api/v1/reminders")


def test_admin_endpoints_are_for_superusers_only(http: httpx.Client, admin: dict[str, str]) -> None:
    _, member, _ = _member(http)
    target = http.get("/api/v1/users/me", headers=member).json()["id"]
    for method, path in (
        ("DELETE", f"/api/v1/admin/users/{target}"),
        ("POST", f"/api/v1/admin/users/{target}/deactivate"),
        ("POST", f"/api/v1/admin/users/{target}/activate"),
    ):
        r = http.request(method, path, headers=member)
        assert r.status_code == 403, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert http.request(method, path.replace(target, str(uuid.uuid4())), headers=admin).status_code == 404
    me = http.get("/api/v1/users/me", headers=admin).json()["id"]
    assert http.post(f"/api/v1/admin/users/{me}/deactivate", headers=admin).status_code == 409
    assert http.get("/api/v1/users/me", headers=member).status_code == 200  # untouched by all that


def _statuses(http: httpx.Client, auth: dict[str, str]) -> dict[str, int]:
    return {path: http.get(path, headers=auth).status_code for path in PER_SERVICE}


def test_a_deactivated_account_is_refused_everywhere_until_activated(
    http: httpx.Client, admin: dict[str, str]
) -> None:
    email, member, refresh = _member(http)
    target = http.get("/api/v1/users/me", headers=member).json()["id"]
    assert set(_statuses(http, member).values()) == {200}

    started = time.monotonic()
    r = http.post(f"/api/v1/admin/users/{target}/deactivate", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["is_active"] is False
    statuses: dict[str, int] = {}
    while time.monotonic() - started < 10 and set(statuses.values()) != {401}:
        statuses = _statuses(http, member)
    delay = time.monotonic() - started
    assert set(statuses.values()) == {401}, statuses
    assert delay < 2.0, f"the deny-list took {delay:.3f}s"
    print(f"deactivated account's access token refused by every service after {delay:.3f}s")
    assert _login(http, email).status_code == 401
    assert http.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401
    r = http.post(
        "/api/v1/journal/entries", json={"content": "x", "entry_date": "2026-01-22T10:00:00Z"}, headers=member
    )
    assert r.status_code == 401

    r = http.post(f"/api/v1/admin/users/{target}/activate", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["is_active"] is True
    r = _login(http, email)
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    _eventually(lambda: set(_statuses(http, fresh).values()) == {200})
    # The sessions the deactivation ended stay ended: an access token issued before it is not
    # let in again by the activation (the account is in again, not those sessions).
    assert set(_statuses(http, member).values()) == {401}, _statuses(http, member)


def test_an_admin_delete_erases_the_account_as_its_owner_would(
    http: httpx.Client, admin: dict[str, str], stack_admin_dsn: str
) -> None:
    email, member, _ = _member(http)
    target = http.get("/api/v1/users/me", headers=member).json()["id"]
    r = http.post(
        "/api/v1/journal/entries", json={"content": "x", "entry_date": "2026-01-22T10:00:00Z"}, headers=member
    )
    assert r.status_code == 201, r.text

    assert http.delete(f"/api/v1/admin/users/{target}", headers=admin).status_code == 204
    assert _login(http, email).status_code == 401
    _eventually(lambda: all(http.get(path, headers=member).status_code == 401 for path in PER_SERVICE))
    assert http.delete(f"/api/v1/admin/users/{target}", headers=admin).status_code == 404

    async def stored() -> int:
        conn = await asyncpg.connect(stack_admin_dsn)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM journal.journal_entries WHERE user_id = $1", uuid.UUID(target)
                )
                + await conn.fetchval("SELECT count(*) FROM users.users WHERE id = $1", uuid.UUID(target))
            )
        finally:
            await conn.close()

    _eventually(lambda: asyncio.run(stored()) == 0)


def test_admin_actions_are_in_the_audit_trail_and_outlive_the_erasure(
    http: httpx.Client, admin: dict[str, str], stack_admin_dsn: str
) -> None:
    admin_id = http.get("/api/v1/users/me", headers=admin).json()["id"]
    _, member, _ = _member(http)
    target = http.get("/api/v1/users/me", headers=member).json()["id"]
    assert http.post(f"/api/v1/admin/users/{target}/deactivate", headers=admin).status_code == 200
    assert http.post(f"/api/v1/admin/users/{target}/activate", headers=admin).status_code == 200
    assert http.delete(f"/api/v1/admin/users/{target}", headers=admin).status_code == 204

    async def trail() -> list[tuple[str, str, list[str] | None, str | None]]:
        conn = await asyncpg.connect(stack_admin_dsn)
        try:
            rows = await conn.fetch(
                "SELECT table_name, op, changed, actor_id FROM users.audit_log WHERE user_id = $1 ORDER BY id",
                uuid.UUID(target),
            )
            return [
                (r["table_name"], r["op"], r["changed"], str(r["actor_id"]) if r["actor_id"] else None)
                for r in rows
            ]
        finally:
            await conn.close()

    # The account row is hard-deleted once the erasure event is out (that delete's row and the
    # owner's own rows go with the trail); the admin's changes stay, refresh-token revocations and
    # the deletion of the account's verification token (registration mailed one) too.
    _eventually(lambda: all(actor == admin_id for *_, actor in asyncio.run(trail())))
    rows = asyncio.run(trail())
    assert [(op, changed) for table, op, changed, _ in rows if table == "users"] == [
        ("update", ["is_active"]),
        ("update", ["is_active"]),
        ("trash", ["is_active", "deleted_at"]),
    ]
    assert {(table, op) for table, op, _, _ in rows if table != "users"} == {
        ("refresh_tokens", "update"),
        ("account_tokens", "delete"),
    }
