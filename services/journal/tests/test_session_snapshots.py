"""Sessions' stored ``activities`` snapshots (journal_0018) never change what the API answers.

(The pages and ``GET /sessions/{id}``, which both answer from the snapshot when there is one.)

After every kind of write — instances added, patched, deleted; timers; values replaced; a
session from a template; a goal moved into another tree (``root_id`` cascades); SQL outside the
service (a value changed, a split definition deleted with its values) — the sessions page and
the trash page are compared, byte for byte, with what the same pages answer when every
snapshot is NULL (the aggregation fallback), and with what they answer after
:func:`~daybook_journal.sessions.snapshots.backfill` has written them all again.  The service's
writes must leave the sessions they touched with a snapshot (else the page would pay the
fallback); writes the service does not make must leave them NULL (the triggers).  Both apps
are compared: the fast path and Litestar's handler.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from daybook_bench import goals as bench_goals
from daybook_common.db import plain_url
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.sessions.snapshots import backfill
from daybook_journal.settings import Settings
from daybook_journal.testing import GOALS, SESSIONS, User, make_activity, make_goal, make_session


@pytest.fixture
async def admin(migrated: TestDatabase) -> AsyncIterator[asyncpg.Connection]:
    conn = await migrated.admin_connect()
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def journal_pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """The journal's own role, as ``daybook-journal backfill-session-snapshots`` connects."""
    pool = await asyncpg.create_pool(plain_url(settings.common.database.url), min_size=2, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


class Pages:
    def __init__(
        self,
        api: AsyncTestClient,
        slow_api: AsyncTestClient,
        admin: asyncpg.Connection,
        pool: asyncpg.Pool,
        user: User,
    ) -> None:
        self.api, self.slow_api, self.admin, self.pool, self.user = api, slow_api, admin, pool, user

    async def _bytes(self, root_id: str) -> list[bytes]:
        """The pages' bodies: the live page whole and in pages of 2, and the trash, from both apps;
        and each of the tree's live sessions alone (``GET /sessions/{id}``: body and ETag)."""
        got: list[bytes] = []
        live = await self.admin.fetch(
            f"SELECT id FROM {SCHEMA}.sessions WHERE root_id = $1 AND deleted_at IS NULL ORDER BY id",
            uuid.UUID(root_id),
        )
        for client in (self.api, self.slow_api):
            for row in live:
                r = await client.get(f"{SESSIONS}/{row['id']}", headers=self.user.headers)
                assert r.status_code == 200, r.text
                got += [r.content, r.headers["etag"].encode()]
            for path in ("sessions?limit=50", "sessions/trash?limit=50"):
                r = await client.get(f"{GOALS}/{root_id}/{path}", headers=self.user.headers)
                assert r.status_code == 200, r.text
                got.append(r.content)
            params: dict[str, Any] = {"limit": 2}
            while True:
                r = await client.get(f"{GOALS}/{root_id}/sessions", params=params, headers=self.user.headers)
                assert r.status_code == 200, r.text
                got.append(r.content)
                if r.json()["next_cursor"] is None:
                    break
                params["cursor"] = r.json()["next_cursor"]
        half = len(got) // 2
        assert got[:half] == got[half:]  # the fast path answers what the handler does
        return got

    async def snapshots(self) -> dict[str, str | None]:
        rows = await self.admin.fetch(
            f"SELECT id, activities_json FROM {SCHEMA}.sessions WHERE user_id = $1", self.user.id
        )
        return {str(r["id"]): r["activities_json"] for r in rows}

    async def check(self, root_id: str, fresh: Collection[str] = (), stale: Collection[str] = ()) -> None:
        """Compare the pages as they are, with every snapshot NULL and after the backfill;
        ``fresh`` sessions must have a snapshot now, ``stale`` ones none."""
        now = await self.snapshots()
        missing = {i for i in fresh if now[i] is None}
        assert not missing, f"the service left these sessions without a snapshot: {missing}"
        kept = {i for i in stale if now[i] is not None}
        assert not kept, f"a write outside the service left these snapshots: {kept}"
        as_stored = await self._bytes(root_id)
        await self.admin.execute(
            f"UPDATE {SCHEMA}.sessions SET activities_json = NULL WHERE user_id = $1", self.user.id
        )
        fallback = await self._bytes(root_id)
        assert as_stored == fallback
        assert await backfill(self.pool, batch_size=3, workers=2) == len(now)
        assert None not in (await self.snapshots()).values()
        assert await self._bytes(root_id) == fallback


async def test_pages_are_the_same_with_and_without_snapshots(
    api: AsyncTestClient,
    slow_api: AsyncTestClient,
    admin: asyncpg.Connection,
    journal_pool: asyncpg.Pool,
    alice: User,
) -> None:
    pages = Pages(api, slow_api, admin, journal_pool, alice)
    root = await make_goal(api, alice, "Climb ✓")
    root_id = root["id"]
    lift = await make_activity(
        api,
        alice,
        root_id,
        "Lift",
        metrics=[{"name": "kg", "unit": "kg"}, {"name": "reps", "unit": "count"}],
        splits=[{"name": "left"}, {"name": "right"}],
    )
    run = await make_activity(api, alice, root_id, "Run", metrics=[{"name": "km", "unit": "km"}])
    kg, reps = (m["id"] for m in lift["metrics"])
    left, right = (sp["id"] for sp in lift["splits"])
    km = run["metrics"][0]["id"]

    # a session with no activity; one from a template; three with instances
    empty = await make_session(api, alice, root_id, title="empty", started_at="2026-03-05T08:00:00Z")
    r = await api.post(
        f"{GOALS}/{root_id}/templates",
        json={"name": "Monday", "activity_ids": [lift["id"], run["id"], lift["id"]]},
        headers=alice.headers,
    )
    assert r.status_code == 201, r.text
    template = await make_session(
        api, alice, root_id, template_id=r.json()["id"], started_at="2026-03-04T08:00:00.5Z"
    )
    assert len(template["activities"]) == 3
    got = await api.get(f"{SESSIONS}/{template['id']}", headers=alice.headers)
    assert got.headers["etag"] == '"1"'  # storing its snapshot is no new version
    await pages.check(root_id, fresh={empty["id"], template["id"]})

    sessions = [
        await make_session(api, alice, root_id, started_at=f"2026-03-0{day}T08:00:00Z") for day in (1, 2, 3)
    ]
    ids = [s["id"] for s in sessions]
    instances: dict[str, list[str]] = {i: [] for i in ids}
    for n, session_id in enumerate(ids):
        for k in range(2):
            r = await api.post(
                f"{SESSIONS}/{session_id}/activities",
                json={
                    "activity_id": lift["id"],
                    "time_start": "2026-03-01T08:00:00.123456Z",
                    "time_stop": "2026-03-01T10:10:30+02:00",
                    "sort_order": 2 - k,
                    "metrics": [
                        {"metric_id": kg, "split_id": right, "value": 22.5 + n},
                        {"metric_id": kg, "split_id": left, "value": 0.1 + 0.2},
                        {"metric_id": reps, "value": 10},
                    ],
                },
                headers=alice.headers,
            )
            assert r.status_code == 201, r.text
            instances[session_id].append(r.json()["id"])
        r = await api.post(
            f"{SESSIONS}/{session_id}/activities",
            json={
                "activity_id": run["id"],
                "duration_seconds": 600,
                "metrics": [{"metric_id": km, "value": 5}],
            },
            headers=alice.headers,
        )
        instances[session_id].append(r.json()["id"])
    await pages.check(root_id, fresh=set(ids))

    def one(session_id: str, k: int) -> str:
        return f"{SESSIONS}/{session_id}/activities/{instances[session_id][k]}"

    # patch, replace values, timers, delete: each by the service, each leaves a fresh snapshot
    a, b, c = ids
    r = await api.patch(
        one(a, 0), json={"sort_order": 9, "time_stop": "2026-03-01T09:00:00Z"}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    await pages.check(root_id, fresh={a})
    r = await api.put(
        f"{one(b, 1)}/metrics", json=[{"metric_id": reps, "value": 12.25}], headers=alice.headers
    )
    assert r.status_code == 200, r.text
    await pages.check(root_id, fresh={b})
    assert (await api.post(f"{one(c, 2)}/start", headers=alice.headers)).status_code == 200
    await pages.check(root_id, fresh={c})
    assert (await api.post(f"{one(c, 2)}/stop", headers=alice.headers)).status_code == 200
    await pages.check(root_id, fresh={c})
    assert (await api.delete(one(a, 1), headers=alice.headers)).status_code == 204
    await pages.check(root_id, fresh={a})
    # a session in the trash: its page too
    assert (await api.delete(f"{SESSIONS}/{b}", headers=alice.headers)).status_code == 204
    await pages.check(root_id, fresh={b})

    # SQL outside the service: the triggers forget the snapshots it touched
    await admin.execute(f"UPDATE {SCHEMA}.metric_values SET value = 99 WHERE metric_id = $1", uuid.UUID(km))
    await pages.check(root_id, stale={a, b, c}, fresh={empty["id"]})
    # a foreign key's cascade (run as the tables' owner, no app.user_id): the values of a split
    await admin.execute(f"DELETE FROM {SCHEMA}.split_definitions WHERE id = $1", uuid.UUID(left))
    await pages.check(root_id, stale={a, b, c}, fresh={empty["id"], template["id"]})
    await admin.execute(
        f"UPDATE {SCHEMA}.activity_instances SET sort_order = 5 WHERE id = $1", uuid.UUID(instances[c][0])
    )
    await pages.check(root_id, stale={c}, fresh={a, b})

    # a move into another tree: root_id cascades to the instances and values (statement
    # triggers fire for the foreign keys' cascades); the page of the new tree is right
    other = await make_goal(api, alice, "Other")
    r = await api.patch(f"{GOALS}/{root_id}", json={"parent_id": other["id"]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    moved = await pages.snapshots()
    assert all(moved[i] is None for i in (a, b, c, template["id"]))
    assert moved[empty["id"]] == "[]"  # no instance, nothing cascaded: still right
    await pages.check(other["id"], stale={a, b, c, template["id"]})
    page = (await api.get(f"{GOALS}/{other['id']}/sessions?limit=50", headers=alice.headers)).json()
    assert {i["root_id"] for s in page["items"] for i in s["activities"]} == {other["id"]}
    # and back out to the top: a new tree again
    r = await api.patch(f"{GOALS}/{root_id}", json={"parent_id": None}, headers=alice.headers)
    assert r.status_code == 200, r.text
    await pages.check(root_id, stale={a, b, c, template["id"]})


async def test_writing_the_snapshot_adds_no_audit_row(
    api: AsyncTestClient, admin: asyncpg.Connection, alice: User
) -> None:
    root = await make_goal(api, alice)
    run = await make_activity(api, alice, root["id"], "Run")
    session = await make_session(api, alice, root["id"])
    r = await api.post(
        f"{SESSIONS}/{session['id']}/activities", json={"activity_id": run["id"]}, headers=alice.headers
    )
    assert r.status_code == 201
    rows = await admin.fetch(
        f"SELECT table_name, op, changed FROM {SCHEMA}.audit_log WHERE row_id = $1 ORDER BY id",
        uuid.UUID(session["id"]),
    )
    # the session's insert; the instance's change bumps its version but lists no column
    assert [(r["table_name"], r["op"]) for r in rows] == [("sessions", "insert")]
    assert (
        await admin.fetchval(
            f"SELECT activities_json FROM {SCHEMA}.sessions WHERE id = $1", uuid.UUID(session["id"])
        )
    ) is not None


async def test_bench_seeder_stores_the_snapshots_the_service_would(
    api: AsyncTestClient,
    slow_api: AsyncTestClient,
    admin: asyncpg.Connection,
    journal_pool: asyncpg.Pool,
    migrated: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    alice: User,
    bob: User,
) -> None:
    """Case 8's seeder writes each session's snapshot as it inserts it (no backfill): the pages
    with them are the bytes of the aggregation fallback's and of the backfill's."""
    monkeypatch.setattr(bench_goals, "USERS_PER_COPY", 1)  # several reads and copies per share
    roots = await bench_goals.seed_goals(migrated.admin_dsn(), [alice.id, bob.id], 4, connections=1)
    stored = await admin.fetch(
        f"SELECT activities_json FROM {SCHEMA}.sessions WHERE user_id = ANY ($1::uuid[])", [alice.id, bob.id]
    )
    assert len(stored) == 8
    assert all(r["activities_json"] is not None and r["activities_json"] != "[]" for r in stored)
    for user in (alice, bob):
        pages = Pages(api, slow_api, admin, journal_pool, user)
        await pages.check(str(roots[user.id]), fresh=set(await pages.snapshots()))
