"""Two users never see or touch each other's data: HTTP routes, body ids, and RLS in the database."""

from __future__ import annotations

import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.db.models import USER_OWNED_TABLES
from daybook_journal.testing import (
    ENTRIES,
    TAGS,
    TASKS,
    TRASH,
    User,
    collect,
    make_entry,
    make_tag,
    make_task,
)


async def test_other_users_ids_are_not_found_on_every_route(
    api: AsyncTestClient, alice: User, bob: User
) -> None:
    tag = await make_tag(api, alice, "private")
    entry = await make_entry(api, alice, tag_ids=[tag["id"]], content="secret")
    task = await make_task(api, alice, tag_ids=[tag["id"]])
    trashed = await make_entry(api, alice)
    assert (await api.delete(f"{ENTRIES}/{trashed['id']}", headers=alice.headers)).status_code == 204
    h = bob.headers
    routes = [
        ("GET", f"{ENTRIES}/{entry['id']}", None),
        ("PATCH", f"{ENTRIES}/{entry['id']}", {"title": "mine now"}),
        ("DELETE", f"{ENTRIES}/{entry['id']}", None),
        ("POST", f"{ENTRIES}/{trashed['id']}/restore", None),
        ("GET", f"{TAGS}/{tag['id']}", None),
        ("PATCH", f"{TAGS}/{tag['id']}", {"name": "mine"}),
        ("DELETE", f"{TAGS}/{tag['id']}", None),
        ("GET", f"{TASKS}/{task['id']}", None),
        ("PATCH", f"{TASKS}/{task['id']}", {"status": "done"}),
        ("DELETE", f"{TASKS}/{task['id']}", None),
        ("POST", f"{TASKS}/{task['id']}/restore", None),
    ]
    for method, url, body in routes:
        r = await api.request(
            method, url, json=body, headers={**h, "If-Match": "*"} if method == "PATCH" else h
        )
        assert r.status_code == 404, (method, url, r.status_code)
        assert "secret" not in r.text
    # Nothing changed for Alice.
    r = await api.get(f"{ENTRIES}/{entry['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == entry
    assert (await api.get(f"{TAGS}/{tag['id']}", headers=alice.headers)).json()["name"] == "private"
    assert (await api.get(f"{TASKS}/{task['id']}", headers=alice.headers)).json()["status"] == "todo"
    # And Bob's lists are empty.
    for url in (ENTRIES, TRASH, TAGS, TASKS, f"{TASKS}/trash"):
        assert await collect(api, bob, url) == []
    assert await collect(api, bob, ENTRIES, tag=tag["id"]) == []


async def test_other_users_tag_ids_in_bodies_are_422_naming_the_field(
    api: AsyncTestClient, alice: User, bob: User
) -> None:
    theirs = await make_tag(api, alice, "theirs")
    mine = await make_tag(api, bob, "mine")
    body = {"entry_date": "2026-01-01T00:00:00Z", "content": "x", "tag_ids": [mine["id"], theirs["id"]]}
    r = await api.post(ENTRIES, json=body, headers=bob.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tag_ids"
    assert "theirs" not in r.text
    r = await api.post(TASKS, json={"title": "t", "tag_ids": [theirs["id"]]}, headers=bob.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tag_ids"
    entry = await make_entry(api, bob)
    r = await api.patch(f"{ENTRIES}/{entry['id']}", json={"tag_ids": [theirs["id"]]}, headers=bob.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tag_ids"
    task = await make_task(api, bob)
    r = await api.patch(f"{TASKS}/{task['id']}", json={"tag_ids": [str(uuid.uuid4())]}, headers=bob.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "tag_ids"


async def test_rls_without_app_user_id_the_service_role_sees_nothing(
    migrated: TestDatabase, api: AsyncTestClient, alice: User, bob: User
) -> None:
    await make_entry(api, alice, tag_ids=[(await make_tag(api, alice, "t"))["id"]])
    await make_task(api, bob)
    admin = await migrated.admin_connect()
    try:
        for table in USER_OWNED_TABLES:
            forced = await admin.fetchrow(
                "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass",
                f"{SCHEMA}.{table}",
            )
            assert forced["relrowsecurity"] and forced["relforcerowsecurity"], table
        assert await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.journal_entries") > 0
    finally:
        await admin.close()
    conn: asyncpg.Connection = await migrated.connect_as(SCHEMA)  # the owner role itself
    try:
        for table in USER_OWNED_TABLES:
            assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.{table}") == 0, table
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.user_id', $1, true)", str(alice.id))
            owners = await conn.fetch(f"SELECT DISTINCT user_id FROM {SCHEMA}.journal_entries")
            assert [r["user_id"] for r in owners] == [alice.id]
            assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.tasks") == 0  # Bob's
            # Writing a row for someone else is refused by the policy's WITH CHECK.
            try:
                await conn.execute(
                    f"INSERT INTO {SCHEMA}.tags (id, user_id, name, color, created_at, updated_at) "
                    "VALUES ($1, $2, 'x', '#000000', now(), now())",
                    uuid.uuid4(),
                    bob.id,
                )
                raise AssertionError("RLS let a row for another user in")
            except asyncpg.InsufficientPrivilegeError:
                pass
        # The setting was LOCAL: after the transaction the role sees nothing again.
        assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.journal_entries") == 0
    finally:
        await conn.close()


async def test_list_statement_binds_the_user_only_for_itself(
    migrated: TestDatabase, api: AsyncTestClient, alice: User
) -> None:
    """The one-statement list reads set app.user_id statement-locally: nothing leaks to the connection."""
    from daybook_journal.db.reads import UserReads
    from daybook_journal.entries.services import EntryFilters, EntryQueries

    await make_entry(api, alice)
    queries = EntryQueries(UserReads(pool=None, user_id=alice.id))  # type: ignore[arg-type]
    query, values = queries.list_query(EntryFilters(), None, 5)
    conn = await migrated.connect_as(SCHEMA)
    try:
        rows = await conn.fetch(query.sql, *query.args({"uid": str(alice.id), **values}))
        assert rows and {r["user_id"] for r in rows} == {alice.id}
        assert await conn.fetchval("SELECT current_setting('app.user_id', true)") in ("", None)
        assert await conn.fetchval(f"SELECT count(*) FROM {SCHEMA}.journal_entries") == 0
    finally:
        await conn.close()
