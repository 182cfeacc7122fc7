"""`/api/v1/reminders` against a real database: CRUD, validation, isolation, pagination, ETags, NOTIFY."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import NOTIFY_CHANNEL

URL = "/api/v1/reminders"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Stretch",
        "message": "Stand up and stretch",
        "frequency": "daily",
        "time": "08:30",
        "timezone": "Europe/Berlin",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def ts(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def create(
    client: AsyncTestClient, signer: TestSigner, user: uuid.UUID, **overrides: Any
) -> dict[str, Any]:
    r = await client.post(URL, json=body(**overrides), headers=signer.headers(user))
    assert r.status_code == 201, r.text
    return dict(r.json())


def assert_problem(r: Any, status: int, field: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        errors = r.json()["errors"]
        assert any(
            e["field"] == field
            or e["field"].startswith((f"{field}[", f"{field}."))
            # msgspec reports missing/unknown keys of the object itself as `Object ... field `x``
            or (e["field"] in ("", "data") and f"`{field}`" in e["message"])
            for e in errors
        ), r.json()["errors"]


async def test_requires_a_token(client: AsyncTestClient) -> None:
    for method, path in [("GET", URL), ("POST", URL), ("GET", f"{URL}/{uuid.uuid4()}")]:
        r = await client.request(method, path, json=body() if method == "POST" else None)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")


async def test_create_returns_the_reminder_with_location_and_next_fire_at(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    user = uuid.uuid4()
    before = dt.datetime.now(dt.UTC)
    r = await client.post(URL, json=body(), headers=signer.headers(user))
    assert r.status_code == 201, r.text
    got = r.json()
    assert r.headers["location"] == f"{URL}/{got['id']}"
    assert r.headers["etag"]
    assert got["user_id"] == str(user)
    assert (got["title"], got["message"], got["frequency"]) == ("Stretch", "Stand up and stretch", "daily")
    assert (got["time"], got["timezone"], got["is_active"]) == ("08:30", "Europe/Berlin", True)
    assert got["custom_days"] is None and got["last_fired_at"] is None
    assert uuid.UUID(got["id"]).version == 7
    berlin = ZoneInfo("Europe/Berlin")
    assert got["start_date"] == before.astimezone(berlin).date().isoformat()
    nxt = ts(got["next_fire_at"])
    assert got["next_fire_at"].endswith(("Z", "+00:00"))
    assert before < nxt <= before + dt.timedelta(days=1, hours=1)
    assert nxt.astimezone(berlin).strftime("%H:%M") == "08:30"
    assert {"created_at", "updated_at"} <= got.keys()


async def test_create_every_frequency(client: AsyncTestClient, signer: TestSigner) -> None:
    user = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    cases = {
        "weekdays": lambda d: d.weekday() < 5,
        "weekends": lambda d: d.weekday() >= 5,
        "weekly": lambda d: d.weekday() == dt.date(2026, 1, 7).weekday(),
        "monthly": lambda d: d.day == 15,
        "custom": lambda d: d.weekday() in (1, 6),
    }
    for frequency, day_ok in cases.items():
        extra: dict[str, Any] = {"start_date": "2026-01-07" if frequency == "weekly" else "2026-01-15"}
        if frequency == "custom":
            extra["custom_days"] = ["sun", "tue", "tue"]
        got = await create(
            client, signer, user, frequency=frequency, timezone="Asia/Tokyo", time="21:05", **extra
        )
        local = ts(got["next_fire_at"]).astimezone(tokyo)
        assert local.strftime("%H:%M") == "21:05" and day_ok(local.date()), (frequency, local)
        assert ts(got["next_fire_at"]) > now
        if frequency == "custom":
            assert got["custom_days"] == ["tue", "sun"]  # de-duplicated, week order


async def test_once_without_date_is_the_next_such_time_and_in_the_past_is_rejected(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    user = uuid.uuid4()
    now = dt.datetime.now(dt.UTC)
    got = await create(client, signer, user, frequency="once", timezone="UTC", time=now.strftime("%H:%M"))
    # This minute has begun, so "once at HH:MM" means tomorrow.
    assert ts(got["next_fire_at"]).date() == (now + dt.timedelta(days=1)).date()
    assert got["start_date"] == (now + dt.timedelta(days=1)).date().isoformat()
    r = await client.post(
        URL, json=body(frequency="once", start_date="2020-01-01"), headers=signer.headers(user)
    )
    assert_problem(r, 422, "start_date")
    inactive = await create(client, signer, user, frequency="once", start_date="2020-01-01", is_active=False)
    assert inactive["next_fire_at"] is None


async def test_create_validation_errors(client: AsyncTestClient, signer: TestSigner) -> None:
    headers = signer.headers(uuid.uuid4())
    cases: list[tuple[dict[str, Any], str]] = [
        (body(timezone="Mars/Olympus"), "timezone"),
        (body(timezone="europe/berlin"), "timezone"),
        (body(timezone="localtime"), "timezone"),
        (body(time="25:00"), "time"),
        (body(time="8:30"), "time"),
        (body(time="08:30:00"), "time"),
        (body(frequency="hourly"), "frequency"),
        (body(frequency="custom"), "custom_days"),
        (body(frequency="custom", custom_days=[]), "custom_days"),
        (body(frequency="custom", custom_days=["funday"]), "custom_days"),
        (body(custom_days=["mon"]), "custom_days"),
        (body(title=""), "title"),
        (body(title="   "), "title"),
        (body(title="x" * 201), "title"),
        (body(message="x" * 2001), "message"),
        (body(title=...), "title"),
        (body(start_date="2026-02-30"), "start_date"),
        (body(start_date="1900-01-01"), "start_date"),
        (body(task_id="not-a-uuid"), "task_id"),
        (body(user_id=str(uuid.uuid4())), "user_id"),
        (body(next_fire_at="2030-01-01T00:00:00Z"), "next_fire_at"),
        (body(id=str(uuid.uuid4())), "id"),
    ]
    for payload, field in cases:
        r = await client.post(URL, json=payload, headers=headers)
        assert_problem(r, 422, field)
        assert "Traceback" not in r.text and "SELECT" not in r.text
    r = await client.post(URL, content=b"{not json", headers={**headers, "content-type": "application/json"})
    assert r.status_code in (400, 422), r.text


async def test_isolation_other_users_reminders_are_not_found(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    mine = await create(client, signer, alice)
    path = f"{URL}/{mine['id']}"
    bob_headers = signer.headers(bob)
    assert_problem(await client.get(path, headers=bob_headers), 404)
    assert_problem(await client.patch(path, json={"title": "hijack"}, headers=bob_headers), 404)
    assert_problem(await client.delete(path, headers=bob_headers), 404)
    r = await client.get(URL, headers=bob_headers)
    assert r.status_code == 200 and r.json()["items"] == []
    r = await client.get(path, headers=signer.headers(alice))
    assert r.status_code == 200 and r.json()["title"] == "Stretch"
    assert_problem(await client.get(f"{URL}/{uuid.uuid4()}", headers=bob_headers), 404)
    assert_problem(await client.get(f"{URL}/not-a-uuid", headers=bob_headers), 404)


async def test_list_pages_newest_first_and_filters_is_active(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    user = uuid.uuid4()
    headers = signer.headers(user)
    made = [await create(client, signer, user, title=f"r{i}", is_active=i % 2 == 0) for i in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(URL, params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [item["title"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [m["title"] for m in reversed(made)]
    r = await client.get(URL, params={"is_active": "false"}, headers=headers)
    assert [i["title"] for i in r.json()["items"]] == ["r3", "r1"]
    assert all(i["next_fire_at"] is None for i in r.json()["items"])
    r = await client.get(URL, params={"is_active": "true", "limit": 100}, headers=headers)
    assert [i["title"] for i in r.json()["items"]] == ["r4", "r2", "r0"]
    assert_problem(await client.get(URL, params={"cursor": "garbage!"}, headers=headers), 422, "cursor")
    assert_problem(await client.get(URL, params={"limit": 0}, headers=headers), 422)
    assert_problem(await client.get(URL, params={"limit": 101}, headers=headers), 422)


async def test_patch_recomputes_schedule_only_when_it_changes(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    user = uuid.uuid4()
    headers = signer.headers(user)
    made = await create(client, signer, user, timezone="America/New_York", time="07:00")
    path = f"{URL}/{made['id']}"
    r = await client.patch(path, json={"title": "Renamed", "message": ""}, headers=headers)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["title"], got["message"], got["next_fire_at"]) == ("Renamed", "", made["next_fire_at"])
    assert got["updated_at"] > made["updated_at"]

    r = await client.patch(path, json={"time": "19:45", "timezone": "Asia/Kolkata"}, headers=headers)
    got = r.json()
    local = ts(got["next_fire_at"]).astimezone(ZoneInfo("Asia/Kolkata"))
    assert local.strftime("%H:%M") == "19:45"
    assert ts(got["next_fire_at"]) > dt.datetime.now(dt.UTC)

    r = await client.patch(path, json={"frequency": "custom"}, headers=headers)
    assert_problem(r, 422, "custom_days")
    r = await client.patch(path, json={"frequency": "custom", "custom_days": ["sat"]}, headers=headers)
    assert r.status_code == 200 and r.json()["custom_days"] == ["sat"]
    assert ts(r.json()["next_fire_at"]).astimezone(ZoneInfo("Asia/Kolkata")).weekday() == 5
    r = await client.patch(path, json={"frequency": "daily"}, headers=headers)
    assert r.status_code == 200 and r.json()["custom_days"] is None

    r = await client.patch(path, json={"is_active": False}, headers=headers)
    assert r.json()["is_active"] is False and r.json()["next_fire_at"] is None
    r = await client.patch(path, json={"is_active": True}, headers=headers)
    assert r.json()["next_fire_at"] is not None

    for payload, field in [
        ({"timezone": "Nowhere/Special"}, "timezone"),
        ({"title": None}, "title"),
        ({"time": "24:00"}, "time"),
        ({"custom_days": ["mon"]}, "custom_days"),
        ({"user_id": str(uuid.uuid4())}, "user_id"),
        ({"next_fire_at": None}, "next_fire_at"),
    ]:
        assert_problem(await client.patch(path, json=payload, headers=headers), 422, field)
    r = await client.patch(path, json={"task_id": None, "start_date": "2027-03-01"}, headers=headers)
    assert r.status_code == 200 and r.json()["task_id"] is None
    assert ts(r.json()["next_fire_at"]).date() >= dt.date(2027, 3, 1)


async def test_etag_and_if_match(client: AsyncTestClient, signer: TestSigner) -> None:
    user = uuid.uuid4()
    headers = signer.headers(user)
    made = await create(client, signer, user)
    path = f"{URL}/{made['id']}"
    r = await client.get(path, headers=headers)
    tag = r.headers["etag"]
    assert tag.startswith('"')
    r = await client.patch(path, json={"title": "v2"}, headers={**headers, "If-Match": tag})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] != tag
    r = await client.patch(path, json={"title": "v3"}, headers={**headers, "If-Match": tag})
    assert_problem(r, 412)
    r = await client.get(path, headers=headers)
    assert r.json()["title"] == "v2"
    r = await client.patch(path, json={"title": "v3"}, headers={**headers, "If-Match": "*"})
    assert r.status_code == 200
    # DELETE honours If-Match as PATCH does (it ignored it): stale is 412 and deletes nothing.
    assert_problem(await client.delete(path, headers={**headers, "If-Match": tag}), 412)
    current = (await client.get(path, headers=headers)).headers["etag"]
    assert (await client.delete(path, headers={**headers, "If-Match": current})).status_code == 204
    assert_problem(await client.get(path, headers=headers), 404)


async def test_delete_is_soft_and_stops_firing(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    headers = signer.headers(user)
    made = await create(client, signer, user)
    path = f"{URL}/{made['id']}"
    r = await client.delete(path, headers=headers)
    assert r.status_code == 204 and r.content == b""
    assert_problem(await client.get(path, headers=headers), 404)
    assert_problem(await client.delete(path, headers=headers), 404)
    assert_problem(await client.patch(path, json={"title": "x"}, headers=headers), 404)
    r = await client.get(URL, headers=headers)
    assert r.json()["items"] == []
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user))
        row = await conn.fetchrow(
            "SELECT deleted_at, next_fire_at FROM reminders WHERE id = $1", uuid.UUID(made["id"])
        )
    assert row is not None and row["deleted_at"] is not None and row["next_fire_at"] is None


async def test_changes_notify_the_schedulers(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()

    def listener(*args: Any) -> None:
        received.put_nowait(args[3])

    await conn.add_listener(NOTIFY_CHANNEL, listener)
    try:
        user = uuid.uuid4()
        made = await create(client, signer, user)
        payload = await asyncio.wait_for(received.get(), timeout=10)
        assert ts(payload) == ts(made["next_fire_at"])
        r = await client.patch(f"{URL}/{made['id']}", json={"time": "09:00"}, headers=signer.headers(user))
        assert ts(await asyncio.wait_for(received.get(), timeout=10)) == ts(r.json()["next_fire_at"])
    finally:
        await conn.remove_listener(NOTIFY_CHANNEL, listener)


async def test_row_level_security_is_forced_on_the_service_role(
    client: AsyncTestClient, signer: TestSigner, conn: asyncpg.Connection
) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    await create(client, signer, alice)
    await create(client, signer, bob)
    # The owning role itself, with no user bound: sees nothing.
    assert await conn.fetchval("SELECT count(*) FROM reminders") == 0
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.user_id', $1, true)", str(alice))
        owners = {r["user_id"] for r in await conn.fetch("SELECT user_id FROM reminders")}
        assert owners == {alice}
        # Writing a row for someone else is refused by the policy's WITH CHECK.
        try:
            async with conn.transaction():
                await conn.execute(
                    """INSERT INTO reminders (id, user_id, title, message, frequency, "time", timezone,
                       start_date, created_at, updated_at)
                       VALUES ($1, $2, 't', '', 'daily', '08:00', 'UTC', '2026-01-01', now(), now())""",
                    uuid.uuid4(),
                    bob,
                )
        except asyncpg.InsufficientPrivilegeError:
            pass
        else:
            raise AssertionError("RLS let a row for another user in")
    # After the transaction the binding is gone again (and '' does not break the uuid cast).
    assert await conn.fetchval("SELECT count(*) FROM reminders") == 0
    assert await conn.fetchval(
        "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'reminders.reminders'::regclass"
    )
    assert await conn.fetchval(
        "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'reminders.notifications'::regclass"
    )


async def count_reminders(client: AsyncTestClient, headers: dict[str, str]) -> int:
    r = await client.get(URL, params={"limit": 100}, headers=headers)
    return len(r.json()["items"])


async def test_idempotency_key_replays_the_first_response(
    client: AsyncTestClient, signer: TestSigner, db: Any
) -> None:
    user = uuid.uuid4()
    headers = {**signer.headers(user), "Idempotency-Key": "create-1"}
    first = await client.post(URL, json=body(), headers=headers)
    assert first.status_code == 201
    again = await client.post(URL, json=body(), headers=headers)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await count_reminders(client, signer.headers(user)) == 1
    # Same key, other body: refused, nothing created.
    r = await client.post(URL, json=body(title="Other"), headers=headers)
    assert_problem(r, 422, "Idempotency-Key")
    # Another user's identical key is theirs alone.
    other = await client.post(
        URL, json=body(), headers={**signer.headers(uuid.uuid4()), "Idempotency-Key": "create-1"}
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    # A failed request does not use the key up.
    headers2 = {**signer.headers(user), "Idempotency-Key": "create-2"}
    assert_problem(
        await client.post(URL, json=body(timezone="Nowhere/Else"), headers=headers2), 422, "timezone"
    )
    r = await client.post(URL, json=body(), headers=headers2)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    # After 24 h the key may be used again.
    admin = await db.admin_connect()
    try:
        await admin.execute(
            "UPDATE reminders.idempotency_keys SET created_at = now() - interval '25 hours' WHERE user_id = $1",
            user,
        )
    finally:
        await admin.close()
    r = await client.post(URL, json=body(), headers=headers)
    assert r.status_code == 201 and r.json()["id"] != first.json()["id"]
    assert await count_reminders(client, signer.headers(user)) == 3
    assert_problem(
        await client.post(URL, json=body(), headers={**headers, "Idempotency-Key": "x" * 256}), 422
    )


async def test_concurrent_retries_with_one_key_create_one_reminder(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    user = uuid.uuid4()
    headers = {**signer.headers(user), "Idempotency-Key": "race"}
    results = await asyncio.gather(*(client.post(URL, json=body(), headers=headers) for _ in range(4)))
    assert [r.status_code for r in results] == [201] * 4, [r.text for r in results]
    assert len({r.json()["id"] for r in results}) == 1
    assert await count_reminders(client, signer.headers(user)) == 1


async def test_health_ready_and_openapi(client: AsyncTestClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    r = await client.get("/ready")
    assert r.status_code == 200, r.text  # migrated to head by the `db` fixture
    schema = (await client.get("/schema/openapi.json")).json()
    operations = {
        op["operationId"] for path in schema["paths"].values() for op in path.values() if "operationId" in op
    }
    assert {
        "CreateReminder",
        "ListReminders",
        "GetReminder",
        "UpdateReminder",
        "DeleteReminder",
        "ListNotifications",
        "MarkNotificationRead",
    } <= operations


async def test_the_document_states_the_start_date_range(client: AsyncTestClient, signer: TestSigner) -> None:
    """A start date the document's pattern admits is accepted, one it refuses is 422: on create,
    on update and in the preview (the fuzzer generates from the document)."""
    user = uuid.uuid4()
    headers = signer.headers(user)
    made = await create(client, signer, user, frequency="daily")
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    for day, ok in (("1969-12-31", False), ("1970-01-01", True), ("2999-12-31", True), ("3000-01-01", False)):
        for name in ("ReminderCreate", "ReminderUpdate", "ReminderSchedule"):
            pattern = schemas[name]["properties"]["start_date"]["pattern"]
            assert bool(re.search(pattern, day)) is ok, (name, day)
        r = await client.post(URL, json=body(frequency="daily", start_date=day), headers=headers)
        assert r.status_code == (201 if ok else 422), r.text
        r = await client.patch(f"{URL}/{made['id']}", json={"start_date": day}, headers=headers)
        assert r.status_code == (200 if ok else 422), r.text
        preview = {"frequency": "daily", "time": "08:00", "timezone": "UTC", "start_date": day}
        r = await client.post(f"{URL}/occurrences", json=preview, headers=headers)
        assert r.status_code == (200 if ok else 422), r.text


async def test_title_is_one_line_and_message_has_no_other_control_character(
    client: AsyncTestClient, signer: TestSigner
) -> None:
    """``daybook_common.text``: a title that renders as something else is 422; a message keeps
    tabs and line breaks but no other control character."""
    user = uuid.uuid4()
    for bad in ("\x01", "\x7f", "\x9b", "\n", "\t", "\u2029", "\u202d", "\u2066"):
        r = await client.post(URL, json=body(title=f"Take{bad}pills"), headers=signer.headers(user))
        assert_problem(r, 422, "title")
        assert "bidirectional" in r.json()["errors"][0]["message"]
    for bad in ("\x01", "\x0b", "\x1b", "\x7f", "\x85"):
        r = await client.post(URL, json=body(message=f"Drink{bad}water"), headers=signer.headers(user))
        assert_problem(r, 422, "message")
    made = await create(client, signer, user, title="Água ✓", message="line\r\nnext\n\tand \u202eRTL\u202c")
    assert made["title"] == "Água ✓" and made["message"] == "line\r\nnext\n\tand \u202eRTL\u202c"
    r = await client.patch(f"{URL}/{made['id']}", json={"title": "a\u202eb"}, headers=signer.headers(user))
    assert_problem(r, 422, "title")
