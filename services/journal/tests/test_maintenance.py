"""Account erasure, trash retention (function, CLI, periodic task) and the bulk seed."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import create_async_engine

from daybook_common.db import async_url, plain_url
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.app import create_app
from daybook_journal.cli import main
from daybook_journal.db.goal_models import GOAL_TABLES
from daybook_journal.db.models import USER_OWNED_TABLES
from daybook_journal.erasure import erase_user
from daybook_journal.retention import purge_trash
from daybook_journal.settings import Settings
from daybook_journal.testing import ENTRIES, TAGS, TASKS, User, collect, make_entry, make_tag, make_task


async def _owned(db: TestDatabase, user_id: uuid.UUID) -> dict[str, int]:
    admin = await db.admin_connect()
    try:
        return {
            table: await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table} WHERE user_id = $1", user_id)
            for table in USER_OWNED_TABLES
        }
    finally:
        await admin.close()


async def _fill(api: AsyncTestClient, user: User, entries: int = 7, tasks: int = 5) -> None:
    tags = [await make_tag(api, user, f"tag{i}") for i in range(3)]
    ids = [t["id"] for t in tags]
    for i in range(entries):
        entry = await make_entry(api, user, tag_ids=ids[: i % 3 + 1])
        if i % 2 == 0:  # a revision of the first version
            r = await api.patch(f"{ENTRIES}/{entry['id']}", json={"title": "again"}, headers=user.headers)
            assert r.status_code == 200, r.text
        if i % 3 == 0:
            assert (await api.delete(f"{ENTRIES}/{entry['id']}", headers=user.headers)).status_code == 204
    for i in range(tasks):
        task = await make_task(api, user, tag_ids=ids[:1])
        if i % 2 == 0:
            assert (await api.delete(f"{TASKS}/{task['id']}", headers=user.headers)).status_code == 204
    r = await api.post(TAGS, json={"name": "keyed"}, headers={**user.headers, "Idempotency-Key": "k1"})
    assert r.status_code == 201


@pytest.mark.parametrize("handle", ["asyncpg-pool", "sqlalchemy-engine", "sqlalchemy-session"])
async def test_erase_user_deletes_everything_of_one_user_in_batches(
    migrated: TestDatabase, api: AsyncTestClient, new_user, handle: str
) -> None:
    doomed, bystander = new_user(), new_user()
    await _fill(api, doomed)
    await _fill(api, bystander)
    before = await _owned(migrated, bystander.id)
    assert all(before.values())
    url = migrated.url(SCHEMA)
    if handle == "asyncpg-pool":
        pool = await asyncpg.create_pool(plain_url(url), min_size=1, max_size=2)
        try:
            counts = await erase_user(pool, doomed.id, batch_size=2)
        finally:
            await pool.close()
    else:
        engine = create_async_engine(async_url(url))
        try:
            if handle == "sqlalchemy-engine":
                counts = await erase_user(engine, str(doomed.id), batch_size=2)
            else:
                from sqlalchemy.ext.asyncio import AsyncSession

                async with AsyncSession(engine) as session:
                    counts = await erase_user(session, doomed.id, batch_size=2)
        finally:
            await engine.dispose()
    expected = {"journal_entries": 7, "tasks": 5, "tags": 4, "idempotency_keys": 1}
    assert counts.pop("audit_log") > 0  # the user's trail goes too
    assert counts == {**dict.fromkeys(GOAL_TABLES, 0), **expected}  # no goals here: test_goal_erasure
    assert set((await _owned(migrated, doomed.id)).values()) == {0}
    assert await _owned(migrated, bystander.id) == before
    admin = await migrated.admin_connect()
    try:
        trail = f"SELECT count(*) FROM {SCHEMA}.audit_log WHERE user_id = $1"
        assert await admin.fetchval(trail, doomed.id) == 0
        assert await admin.fetchval(trail, bystander.id) > 0
    finally:
        await admin.close()
    # Running it again (a redelivered event) is harmless.
    pool = await asyncpg.create_pool(plain_url(url), min_size=1, max_size=1)
    try:
        assert sum((await erase_user(pool, doomed.id)).values()) == 0
    finally:
        await pool.close()


async def _age(db: TestDatabase, table: str, column: str, ids: list[str], days: float) -> None:
    admin = await db.admin_connect()
    try:
        await admin.execute(
            f"UPDATE {SCHEMA}.{table} SET {column} = {column} - make_interval(secs => $2) WHERE id = ANY($1::uuid[])",
            ids,
            days * 86400,
        )
    finally:
        await admin.close()


async def test_purge_trash_removes_only_old_trash(
    migrated: TestDatabase, api: AsyncTestClient, alice: User
) -> None:
    old = await make_entry(api, alice)
    recent = await make_entry(api, alice)
    live = await make_entry(api, alice)
    old_task = await make_task(api, alice)
    for entry in (old, recent):
        await api.delete(f"{ENTRIES}/{entry['id']}", headers=alice.headers)
    await api.delete(f"{TASKS}/{old_task['id']}", headers=alice.headers)
    await _age(migrated, "journal_entries", "deleted_at", [old["id"]], 31)
    await _age(migrated, "tasks", "deleted_at", [old_task["id"]], 45)
    r = await api.post(TAGS, json={"name": "idem"}, headers={**alice.headers, "Idempotency-Key": "old-key"})
    assert r.status_code == 201
    admin = await migrated.admin_connect()
    try:
        await admin.execute(
            f"UPDATE {SCHEMA}.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-key'"
        )
    finally:
        await admin.close()
    pool = await asyncpg.create_pool(plain_url(migrated.url(SCHEMA)), min_size=1, max_size=1)
    try:
        counts = await purge_trash(pool, retention_days=30, batch_size=1)
    finally:
        await pool.close()
    assert counts["journal_entries"] >= 1 and counts["tasks"] >= 1 and counts["idempotency_keys"] >= 1
    trash = {e["id"] for e in await collect(api, alice, "/api/v1/journal/trash")}
    assert old["id"] not in trash and recent["id"] in trash
    assert (await api.get(f"{ENTRIES}/{live['id']}", headers=alice.headers)).status_code == 200
    assert old_task["id"] not in {t["id"] for t in await collect(api, alice, f"{TASKS}/trash")}
    # The old key is forgotten: reusing it with another body creates again instead of 422.
    r = await api.post(TAGS, json={"name": "idem2"}, headers={**alice.headers, "Idempotency-Key": "old-key"})
    assert r.status_code == 201


def test_cli_purge_trash(
    migrated: TestDatabase, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOURNAL_DATABASE_URL", migrated.url(SCHEMA))
    monkeypatch.setenv("JOURNAL_TRASH_RETENTION_DAYS", "30")
    main(["purge-trash"])
    assert "purged trash older than 30 days" in capsys.readouterr().out
    main(["purge-trash", "--days", "7"])
    assert "older than 7 days" in capsys.readouterr().out


async def test_periodic_purge_runs_inside_the_app(
    migrated: TestDatabase, signer, settings: Settings, new_user
) -> None:
    periodic = Settings.from_env(
        {
            "JOURNAL_DATABASE_URL": migrated.url(SCHEMA),
            "JOURNAL_JWKS_JSON": signer.jwks_json,
            "JOURNAL_EVENTS_ENABLED": "false",
            "JOURNAL_TRASH_RETENTION_DAYS": "30",
            "JOURNAL_TRASH_PURGE_INTERVAL_SECONDS": "0.2",
        }
    )
    user = new_user()
    async with AsyncTestClient(create_app(periodic)) as client:
        old, recent = await make_entry(client, user), await make_entry(client, user)
        old_task = await make_task(client, user)
        for path in (f"{ENTRIES}/{old['id']}", f"{ENTRIES}/{recent['id']}", f"{TASKS}/{old_task['id']}"):
            assert (await client.delete(path, headers=user.headers)).status_code == 204
        await _age(migrated, "journal_entries", "deleted_at", [old["id"]], 31)
        await _age(migrated, "journal_entries", "deleted_at", [recent["id"]], 29)
        await _age(migrated, "tasks", "deleted_at", [old_task["id"]], 31)
        for _ in range(100):  # bounded wait for the background task (not a timing assertion)
            trash = {e["id"] for e in await collect(client, user, "/api/v1/journal/trash")}
            task_trash = await collect(client, user, f"{TASKS}/trash")
            if old["id"] not in trash and not task_trash:
                break
            await asyncio.sleep(0.1)
        assert trash == {recent["id"]}  # past the window: gone; within it: kept
        assert task_trash == []


def test_the_retention_job_runs_by_default() -> None:
    assert Settings.from_env({}).journal.trash_purge_interval_seconds == 3600


def test_seed_cli_as_the_service_role(
    migrated: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The service role is under RLS, so the seed goes through staging tables; counts must add up."""
    given = [uuid.uuid4() for _ in range(3)]
    ids_file = tmp_path / "users.txt"
    ids_file.write_text("".join(f"{u}\n" for u in given))
    monkeypatch.setenv("JOURNAL_DATABASE_URL", migrated.url(SCHEMA))
    main(
        [
            "seed",
            "--user-ids-file",
            str(ids_file),
            "--entries-per-user",
            "40",
            "--tasks-per-user",
            "6",
            "--random-seed",
            "1",
        ]
    )
    out = capsys.readouterr().out
    assert "seeded 3 users: 120 entries, 15 tags, 18 tasks" in out and "rows/s" in out
    written = tmp_path / "written.txt"
    main(["seed", "--users", "2", "--entries-per-user", "3", "--write-user-ids", str(written)])
    made = [uuid.UUID(line) for line in written.read_text().split()]
    assert len(made) == 2 and all(u.version == 7 for u in made)

    async def counts() -> dict[str, int]:
        conn = await migrated.admin_connect()
        try:
            return {
                "entries": await conn.fetchval(
                    f"SELECT count(*) FROM {SCHEMA}.journal_entries WHERE user_id = ANY($1::uuid[])", given
                ),
                "tasks": await conn.fetchval(
                    f"SELECT count(*) FROM {SCHEMA}.tasks WHERE user_id = ANY($1::uuid[])", given
                ),
                "made": await conn.fetchval(
                    f"SELECT count(*) FROM {SCHEMA}.journal_entries WHERE user_id = ANY($1::uuid[])", made
                ),
            }
        finally:
            await conn.close()

    assert asyncio.run(counts()) == {"entries": 120, "tasks": 18, "made": 6}
