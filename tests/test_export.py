"""GET /api/v1/users/me/export through the gateway: one zip with the caller's data of every service."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import time
import uuid
import zipfile
from typing import Any

import asyncpg
import httpx
import pytest

PASSWORD = "correct horse battery staple"
EXPORT = "/api/v1/users/me/export"
FILES = {
    "account.json",
    "entries.json",
    "tags.json",
    "tasks.json",
    "goals.json",
    "sessions.json",
    "reminders.json",
    "notifications.json",
    "manifest.json",
}


def _account(http: httpx.Client, prefix: str) -> tuple[str, dict[str, str]]:
    email = f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    user_id = r.json()["id"]
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return user_id, {"Authorization": f"Bearer {r.json()['access_token']}"}


def _post(http: httpx.Client, path: str, body: dict[str, Any], auth: dict[str, str]) -> dict[str, Any]:
    r = http.post(path, json=body, headers=auth)
    assert r.status_code == 201, (path, r.text)
    data: dict[str, Any] = r.json()
    return data


def _fill(http: httpx.Client, auth: dict[str, str], marker: str, ciphertext: bytes) -> dict[str, Any]:
    """Something of every kind, each carrying ``marker``; returns what was made."""
    tag = _post(http, "/api/v1/journal/tags", {"name": f"tag-{marker}", "color": "#aa00ff"}, auth)
    plain = _post(
        http,
        "/api/v1/journal/entries",
        {
            "title": marker,
            "content": f"plain {marker}",
            "entry_date": "2026-01-22T10:00:00Z",
            "tag_ids": [tag["id"]],
        },
        auth,
    )
    encrypted = {
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "wrapped_key": base64.b64encode(b"\x00wrapped\xff" + marker.encode()).decode(),
        "iv": base64.b64encode(os.urandom(12)).decode(),
        "wrap_iv": base64.b64encode(os.urandom(12)).decode(),
    }
    secret = _post(
        http,
        "/api/v1/journal/entries",
        {"title": marker, "entry_date": "2026-01-21T10:00:00Z", "encrypted": encrypted},
        auth,
    )
    r = http.patch(f"/api/v1/journal/entries/{secret['id']}", json={"title": f"{marker} v2"}, headers=auth)
    assert r.status_code == 200, r.text  # the first version becomes a revision
    r = http.delete(f"/api/v1/journal/entries/{plain['id']}", headers=auth)  # the trash is exported too
    assert r.status_code == 204, r.text
    task = _post(http, "/api/v1/tasks", {"title": f"task {marker}", "tag_ids": [tag["id"]]}, auth)
    goal = _post(http, "/api/v1/goals", {"title": f"goal {marker}"}, auth)
    session = _post(http, f"/api/v1/goals/{goal['id']}/sessions", {"title": f"session {marker}"}, auth)
    reminder = _post(
        http,
        "/api/v1/reminders",
        {
            "title": f"reminder {marker}",
            "message": marker,
            "frequency": "daily",
            "time": "08:00",
            "timezone": "UTC",
        },
        auth,
    )
    return {
        "tag": tag,
        "plain": plain,
        "secret": secret,
        "encrypted": encrypted,
        "task": task,
        "goal": goal,
        "session": session,
        "reminder": reminder,
    }


def _fire_now(admin_dsn: str, reminder_id: str) -> None:
    """Arrange a notification: make the reminder due, and the real scheduler fires it."""

    async def due() -> None:
        connection = await asyncpg.connect(admin_dsn)
        try:
            await connection.execute(
                "UPDATE reminders.reminders SET next_fire_at = now() - interval '1 second' WHERE id = $1",
                uuid.UUID(reminder_id),
            )
        finally:
            await connection.close()

    asyncio.run(due())


def _wait_for_notification(http: httpx.Client, auth: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items = http.get("/api/v1/notifications", headers=auth).json()["items"]
        if items:
            item: dict[str, Any] = items[0]
            return item
        time.sleep(0.2)
    pytest.fail("the scheduler fired no notification within 20 s")


def _export(http: httpx.Client, auth: dict[str, str]) -> zipfile.ZipFile:
    r = http.get(EXPORT, headers=auth)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].startswith('attachment; filename="daybook-export-')
    assert r.headers["cache-control"] == "no-store"
    assert "content-length" not in r.headers  # streamed, not assembled first
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    return archive


def _read(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


@pytest.fixture(scope="module")
def exported(http: httpx.Client, stack_admin_dsn: str) -> dict[str, Any]:
    alice_id, alice = _account(http, "export-alice")
    bob_id, bob = _account(http, "export-bob")
    ciphertext = os.urandom(3000) + b"\n\x00\r\n"  # any bytes, newlines and NUL included
    made = _fill(http, alice, "alice-marker", ciphertext)
    _fill(http, bob, "bob-marker", os.urandom(64))
    _fire_now(stack_admin_dsn, made["reminder"]["id"])
    notification = _wait_for_notification(http, alice)
    snooze = http.post(
        f"/api/v1/notifications/{notification['id']}/snooze", json={"minutes": 60}, headers=alice
    )
    assert snooze.status_code == 202, snooze.text
    archive = _export(http, alice)
    return {
        "archive": archive,
        "raw": {name: archive.read(name) for name in archive.namelist()},
        "alice_id": alice_id,
        "bob_id": bob_id,
        "made": made,
        "ciphertext": ciphertext,
        "notification": notification,
    }


def test_the_zip_holds_every_kind_at_its_root(exported: dict[str, Any]) -> None:
    names = set(exported["archive"].namelist())
    assert names >= FILES
    assert all("/" not in name for name in names)


def test_each_file_holds_what_the_user_made(exported: dict[str, Any]) -> None:
    archive, made = exported["archive"], exported["made"]
    account = _read(archive, "account.json")
    assert account["id"] == exported["alice_id"]
    assert "hashed_password" not in account and "password" not in json.dumps(account)
    entries = _read(archive, "entries.json")
    assert {e["id"] for e in entries} == {made["plain"]["id"], made["secret"]["id"]}
    trashed = next(e for e in entries if e["id"] == made["plain"]["id"])
    assert trashed["deleted_at"] is not None and trashed["content"] == "plain alice-marker"
    assert trashed["tags"] == [{"id": made["tag"]["id"], "name": "tag-alice-marker", "color": "#aa00ff"}]
    assert [t["id"] for t in _read(archive, "tags.json")] == [made["tag"]["id"]]
    [task] = _read(archive, "tasks.json")
    assert task["id"] == made["task"]["id"] and task["tag_ids"] == [made["tag"]["id"]]
    assert [g["id"] for g in _read(archive, "goals.json")] == [made["goal"]["id"]]
    assert [s["id"] for s in _read(archive, "sessions.json")] == [made["session"]["id"]]
    [reminder] = _read(archive, "reminders.json")
    assert reminder["id"] == made["reminder"]["id"] and reminder["time"] == "08:00"
    [notification] = _read(archive, "notifications.json")
    assert notification["id"] == exported["notification"]["id"]
    assert notification["reminder_id"] == made["reminder"]["id"]
    [snooze] = _read(archive, "snoozes.json")
    assert snooze["notification_id"] == notification["id"]
    [signed_in] = _read(archive, "sign_in_sessions.json")  # the fixture's one login
    assert signed_in["live"] is True and "token_hash" not in signed_in
    kinds = [event["kind"] for event in _read(archive, "security_activity.json")]
    assert kinds == ["login", "export"]  # this export is recorded before its own activity part is read


def test_ciphertext_is_byte_exact(exported: dict[str, Any]) -> None:
    entries = _read(exported["archive"], "entries.json")
    secret = next(e for e in entries if e["id"] == exported["made"]["secret"]["id"])
    assert secret["content"] is None
    assert base64.b64decode(secret["encrypted"]["ciphertext"], validate=True) == exported["ciphertext"]
    for field in ("wrapped_key", "iv", "wrap_iv"):
        assert secret["encrypted"][field] == exported["made"]["encrypted"][field]
    [revision] = _read(exported["archive"], "entry_revisions.json")
    assert revision["entry_id"] == secret["id"] and revision["revision"] == 1
    assert base64.b64decode(revision["ciphertext"], validate=True) == exported["ciphertext"]


def test_nothing_of_another_user(exported: dict[str, Any]) -> None:
    everything = b"".join(exported["raw"].values())
    assert b"bob-marker" not in everything
    assert exported["bob_id"].encode() not in everything
    for name, data in exported["raw"].items():
        if name.endswith(".json") and name not in {"account.json", "manifest.json"}:
            for item in json.loads(data):
                assert item.get("user_id", exported["alice_id"]) == exported["alice_id"], name


def test_manifest_counts_every_file(exported: dict[str, Any]) -> None:
    archive = exported["archive"]
    manifest = _read(archive, "manifest.json")
    assert manifest["api_version"] == "v1"
    assert manifest["user_id"] == exported["alice_id"]
    assert manifest["exported_at"].endswith("Z")
    for name in archive.namelist():
        if name == "manifest.json":
            continue
        data = _read(archive, name)
        assert manifest["counts"][name.removesuffix(".json")] == (
            1 if name == "account.json" else len(data)
        ), name
    assert manifest["counts"]["entries"] == 2


def test_an_empty_account_exports_empty_lists(http: httpx.Client) -> None:
    _, auth = _account(http, "export-empty")
    archive = _export(http, auth)
    assert _read(archive, "entries.json") == []
    assert _read(archive, "manifest.json")["counts"]["notifications"] == 0


def test_without_a_token_401(http: httpx.Client) -> None:
    r = http.get(EXPORT)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_a_deleted_account_gets_401(http: httpx.Client) -> None:
    _, auth = _account(http, "export-deleted")
    assert http.delete("/api/v1/users/me", headers=auth).status_code == 204
    r = http.get(EXPORT, headers=auth)
    assert r.status_code == 401, r.text


def test_the_parts_are_not_reachable_through_the_gateway(http: httpx.Client) -> None:
    _, auth = _account(http, "export-internal")
    for path in (
        "/internal/v1/export/entries",
        "/internal/v1/export/account",
        "/api/v1/internal/v1/export/tags",
    ):
        r = http.get(path, headers=auth)
        assert r.status_code == 404, path


def test_an_export_is_recorded_in_the_security_activity(http: httpx.Client) -> None:
    _, auth = _account(http, "export-activity")
    _export(http, auth)
    r = http.get("/api/v1/users/me/activity", headers={**auth})
    assert r.status_code == 200, r.text
    assert [event["kind"] for event in r.json()["items"]][:1] == ["export"]


def test_a_few_exports_per_hour_per_user(http: httpx.Client) -> None:
    _, auth = _account(http, "export-limited")
    statuses = []
    for _ in range(6):
        r = http.get(EXPORT, headers=auth)
        statuses.append(r.status_code)
    assert statuses == [200] * 5 + [429]
    assert int(r.headers["retry-after"]) > 0
    assert r.headers["ratelimit-limit"] == "5"
    _, other = _account(http, "export-other")  # another user is not limited by the first one's count
    assert http.get(EXPORT, headers=other).status_code == 200


def test_documented_in_openapi(http: httpx.Client) -> None:
    document = http.get("/api/v1/openapi.json").json()
    operation = document["paths"][EXPORT]["get"]
    assert "application/zip" in operation["responses"]["200"]["content"]
    for status in ("401", "429", "502", "503", "504"):
        assert "application/problem+json" in operation["responses"][status]["content"], status
    assert not any(path.startswith("/internal") for path in document["paths"])


def test_other_methods_405(http: httpx.Client) -> None:
    _, auth = _account(http, "export-method")
    r = http.post(EXPORT, headers=auth)
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert r.headers["content-type"] == "application/problem+json"


def test_the_gateway_asks_for_every_part_the_services_serve() -> None:
    """The zip's layout (the gateway) and the parts (each service) cannot drift apart."""
    from daybook_gateway.export import PARTS
    from daybook_journal.export import KINDS as JOURNAL
    from daybook_reminders.export import KINDS as REMINDERS
    from daybook_users.export import KINDS as USERS

    served = {("journal", kind) for kind in JOURNAL} | {("reminders", kind) for kind in REMINDERS}
    served |= {("users", kind) for kind in USERS} | {("users", "account")}
    assert {(part.service, part.kind) for part in PARTS} == served
