"""The audit trail through the gateway: every change of a user's rows is recorded by the database
(operation, changed column names, acting user, request id — never a value), `daybook audit` prints
it across services, and an erasure takes it along."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from daybook_deploy.cli import main as daybook

PASSWORD = "correct horse battery staple"
SECRET = "the-content-nobody-may-read"


def _account(http: httpx.Client) -> tuple[str, dict[str, str]]:
    email = f"audit-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return str(http.get("/api/v1/users/me", headers=headers).json()["id"]), headers


def _rows(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    async def fetch() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(dsn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_every_change_is_recorded_by_name_with_its_actor_and_request(
    http: httpx.Client, stack_admin_dsn: str
) -> None:
    user, auth = _account(http)
    calls = []
    r = http.post(
        "/api/v1/journal/entries",
        json={"title": "t", "content": SECRET, "entry_date": "2026-01-22T10:00:00Z"},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    entry = r.json()["id"]
    calls.append(r.headers["X-Request-ID"])
    for method, path, body in (
        ("PATCH", f"/api/v1/journal/entries/{entry}", {"content": SECRET + "2"}),
        ("DELETE", f"/api/v1/journal/entries/{entry}", None),
        ("POST", f"/api/v1/journal/entries/{entry}/restore", None),
        ("DELETE", f"/api/v1/journal/entries/{entry}", None),
        ("DELETE", f"/api/v1/journal/trash/{entry}", None),
    ):
        r = http.request(method, path, json=body, headers=auth)
        assert r.status_code < 300, r.text
        calls.append(r.headers["X-Request-ID"])

    rows = _rows(
        stack_admin_dsn,
        "SELECT * FROM journal.audit_log WHERE row_id = $1 AND table_name = 'journal_entries' ORDER BY id",
        uuid.UUID(entry),
    )
    assert [(row["op"], row["changed"]) for row in rows] == [
        ("insert", None),
        ("update", ["content"]),
        ("trash", ["deleted_at"]),
        ("restore", ["deleted_at"]),
        ("trash", ["deleted_at"]),
        ("delete", None),
    ]
    assert {str(row["user_id"]) for row in rows} == {user}
    assert {str(row["actor_id"]) for row in rows} == {user}
    assert [row["request_id"] for row in rows] == calls
    everything = _rows(
        stack_admin_dsn, "SELECT a::text AS row FROM journal.audit_log a WHERE user_id = $1", uuid.UUID(user)
    )
    assert everything and not any(SECRET in row["row"] for row in everything)


def test_daybook_audit_prints_a_users_trail_across_services(
    http: httpx.Client,
    stack_admin_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user, auth = _account(http)
    r = http.post("/api/v1/tasks", json={"title": "audited"}, headers=auth)
    assert r.status_code == 201, r.text
    task = r.json()["id"]
    reminder = {
        "title": "r",
        "message": "m",
        "frequency": "daily",
        "time": "09:00",
        "timezone": "Europe/Berlin",
    }
    r = http.post("/api/v1/reminders", json=reminder, headers=auth)
    assert r.status_code == 201, r.text
    assert http.patch("/api/v1/users/me", json={"full_name": "Ada"}, headers=auth).status_code == 200

    url = make_url(stack_admin_dsn)
    monkeypatch.setenv("DATABASE_URL", stack_admin_dsn)
    capsys.readouterr()
    assert daybook(["audit", "--user", user, "--database", str(url.database), "--since", "1d"]) == 0
    out = capsys.readouterr().out
    assert f"journal   insert  tasks/{task} by self" in out
    assert "reminders insert  reminders/" in out
    assert f"users     update  users/{user} [full_name] by self" in out
    assert daybook(["audit", "--user", "not-an-id"]) == 2


def test_an_erasure_takes_the_trail_along(http: httpx.Client, stack_admin_dsn: str) -> None:
    user, auth = _account(http)
    r = http.post(
        "/api/v1/journal/entries", json={"content": "x", "entry_date": "2026-01-22T10:00:00Z"}, headers=auth
    )
    assert r.status_code == 201, r.text
    assert http.delete("/api/v1/users/me", headers=auth).status_code == 204

    count = (
        "SELECT (SELECT count(*) FROM journal.audit_log WHERE user_id = $1)"
        " + (SELECT count(*) FROM reminders.audit_log WHERE user_id = $1)"
        " + (SELECT count(*) FROM users.audit_log WHERE user_id = $1) AS n"
    )
    deadline = time.monotonic() + 20
    while _rows(stack_admin_dsn, count, uuid.UUID(user))[0]["n"]:
        assert time.monotonic() < deadline, "the erased user's audit trail is still there"
        time.sleep(0.2)
