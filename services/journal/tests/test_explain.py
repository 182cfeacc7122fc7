"""Every list statement uses indexes on a big table (≥ 100k rows of 1000 users): no Seq Scan.

The statements checked are the very ones the endpoints run (built by the same code),
planned both with the request's values and as the generic plans the read pool uses.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from daybook_common.pagination import encode_cursor
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA
from daybook_journal.db.queries import entries as entries_table
from daybook_journal.db.queries import matches_words
from daybook_journal.db.queries import tasks as tasks_table
from daybook_journal.db.reads import CompiledQuery, UserReads
from daybook_journal.entries.services import LIFECYCLE as ENTRY_LIFECYCLE
from daybook_journal.entries.services import EntryFilters, EntryQueries
from daybook_journal.seed import seed
from daybook_journal.tags.services import TagQueries
from daybook_journal.tasks.services import LIFECYCLE as TASK_LIFECYCLE
from daybook_journal.tasks.services import TaskFilters, TaskQueries

USERS, PER_USER = 1000, 100


@pytest.fixture(scope="module")
async def big(migrated: TestDatabase) -> dict[str, Any]:
    # The superuser copies straight into the tables (the fastest path of the seed).
    result = await seed(
        migrated.admin_dsn(),
        USERS,
        PER_USER,
        tasks_per_user=PER_USER,
        tags_per_user=3,
        body_words=(1, 3),
        random_seed=7,
        analyze=False,
    )
    admin = await migrated.admin_connect()
    try:
        # Some trash for the trash lists, then fresh statistics.
        await admin.execute(f"UPDATE {SCHEMA}.journal_entries SET deleted_at = now() WHERE random() < 0.1")
        await admin.execute(f"UPDATE {SCHEMA}.tasks SET deleted_at = now() WHERE random() < 0.1")
        for table in ("journal_entries", "tasks", "tags", "journal_entry_tags", "task_tags"):
            await admin.execute(f"ANALYZE {SCHEMA}.{table}")
        assert await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.journal_entries") >= 100_000
        assert await admin.fetchval(f"SELECT count(*) FROM {SCHEMA}.tasks") >= 100_000
        user_id = result.user_ids[USERS // 2]
        tag_ids = [
            r["id"] for r in await admin.fetch(f"SELECT id FROM {SCHEMA}.tags WHERE user_id = $1", user_id)
        ]
    finally:
        await admin.close()
    return {"user_id": user_id, "tag_ids": tag_ids}


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found.extend(_nodes(child))
    return found


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list):
        value = "{" + ",".join(str(v) for v in value) + "}"
    if isinstance(value, datetime.datetime):
        value = value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


async def _plans(
    conn: asyncpg.Connection, query: CompiledQuery, values: dict[str, Any]
) -> list[list[dict[str, Any]]]:
    """The plan for these values, and the generic plan (what the read pool runs)."""
    args = query.args(values)
    with_values = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {query.sql}", *args)
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    await conn.execute(f"PREPARE listing AS {query.sql}")
    try:
        literals = ", ".join(_literal(arg) for arg in args)  # EXPLAIN EXECUTE takes no $n parameters
        generic = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE listing({literals})")
    finally:
        await conn.execute("DEALLOCATE listing")
        await conn.execute("RESET plan_cache_mode")
    return [_nodes(json.loads(text)[0]["Plan"]) for text in (with_values, generic)]


def _cases(user_id: uuid.UUID, tag_ids: list[uuid.UUID]) -> list[tuple[str, CompiledQuery, dict[str, Any]]]:
    reads = UserReads(pool=None, user_id=user_id)  # type: ignore[arg-type]
    entries, tasks, tags = EntryQueries(reads), TaskQueries(reads), TagQueries(reads)
    now = datetime.datetime.now(datetime.UTC)
    entry_cursor = encode_cursor(now - datetime.timedelta(days=200), uuid.uuid4())
    cases: list[tuple[str, CompiledQuery, dict[str, Any]]] = []

    def add(name: str, built: tuple[CompiledQuery, dict[str, Any]]) -> None:
        query, values = built
        cases.append((name, query, {"uid": str(user_id), **values}))

    add("entries", entries.list_query(EntryFilters(), None, 20))
    add("entries+cursor", entries.list_query(EntryFilters(), entry_cursor, 20))
    add("entries+from+to", entries.list_query(EntryFilters(now - datetime.timedelta(days=90), now), None, 20))
    add("entries+tag", entries.list_query(EntryFilters(tag_ids=(tag_ids[0],)), None, 20))
    add("entries+2 tags", entries.list_query(EntryFilters(tag_ids=tuple(tag_ids[:2])), None, 20))
    add("entries+q", entries.list_query(EntryFilters(q="coffee walk"), None, 20))
    add(
        "entries+all",
        entries.list_query(
            EntryFilters(now - datetime.timedelta(days=400), now, (tag_ids[0],), "tea"), entry_cursor, 20
        ),
    )
    add("entries trash", ENTRY_LIFECYCLE.trash_query(None, 20))
    add("entries trash+cursor", ENTRY_LIFECYCLE.trash_query(encode_cursor(now, uuid.uuid4()), 20))
    add("tags", tags.list_query(None, 20))
    add("tags+cursor", tags.list_query(encode_cursor("m"), 20))
    keys = {"created_at": now, "priority": 1, "due_at": now}
    for sort in ("due_at", "-due_at", "created_at", "-created_at", "priority", "-priority"):
        key = keys[sort.lstrip("-")]
        add(f"tasks {sort}", tasks.list_query(TaskFilters(), sort, None, 20))
        add(
            f"tasks {sort}+cursor",
            tasks.list_query(TaskFilters(), sort, encode_cursor(sort, key, uuid.uuid4()), 20),
        )
        if sort.endswith("due_at"):
            add(
                f"tasks {sort}+undated cursor",
                tasks.list_query(TaskFilters(), sort, encode_cursor(sort, None, uuid.uuid4()), 20),
            )
        filters = TaskFilters(
            ("todo", "in_progress"),
            ("high",),
            now + datetime.timedelta(days=30),
            now - datetime.timedelta(days=30),
            "milk",
        )
        add(f"tasks {sort}+filters", tasks.list_query(filters, sort, None, 20))
    add("tasks status", tasks.list_query(TaskFilters(statuses=("done",)), "-created_at", None, 20))
    add("tasks trash", TASK_LIFECYCLE.trash_query(None, 20))
    add("tasks trash+cursor", TASK_LIFECYCLE.trash_query(encode_cursor(now, uuid.uuid4()), 20))
    return cases


async def test_no_list_query_scans_a_table_sequentially(migrated: TestDatabase, big: dict[str, Any]) -> None:
    conn = await migrated.connect_as(SCHEMA)
    try:
        for name, query, values in _cases(big["user_id"], big["tag_ids"]):
            for which, nodes in enumerate(await _plans(conn, query, values)):
                kinds = [n["Node Type"] for n in nodes]
                seq = [
                    (which, n.get("Relation Name"), n.get("Filter"))
                    for n in nodes
                    if n["Node Type"] == "Seq Scan"
                ]
                assert "Seq Scan" not in kinds, (name, seq, json.dumps(nodes[0], indent=1)[:2000])
    finally:
        await conn.close()


async def test_the_entries_list_walks_its_index_in_order(migrated: TestDatabase, big: dict[str, Any]) -> None:
    """The hot path reads just one page from (user_id, entry_date DESC, id DESC): no sort of all rows."""
    conn = await migrated.connect_as(SCHEMA)
    try:
        cases = {name: (q, v) for name, q, v in _cases(big["user_id"], big["tag_ids"])}
        for name in ("entries", "entries+cursor"):
            for nodes in await _plans(conn, *cases[name]):
                scans = [n for n in nodes if n.get("Relation Name") == "journal_entries"]
                assert [n["Index Name"] for n in scans] == ["ix_journal_entries_user_id_entry_date_id"], name
                # The only sort is the outer one over the page itself (below a Limit, not over the table).
                assert all(
                    n.get("Relation Name") != "journal_entries" for n in nodes if n["Node Type"] == "Sort"
                )
        rows = await conn.fetch(cases["entries"][0].sql, *cases["entries"][0].args(cases["entries"][1]))
        assert len(rows) == 21 and {r["user_id"] for r in rows} == {big["user_id"]}
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("table", "body", "index"),
    [
        (entries_table, "content", "ix_journal_entries_search_words"),
        (tasks_table, "description", "ix_tasks_search_words"),
    ],
)
async def test_the_search_condition_is_the_one_its_gin_index_serves(
    migrated: TestDatabase, big: dict[str, Any], table: sa.Table, body: str, index: str
) -> None:
    """``matches_words`` as the lists write it is the very expression of the GIN index (journal_0006):
    over the whole table (superuser, no user filter) a rare word is found through that index."""
    condition = matches_words(table.c.title, table.c[body], sa.literal("zqxw"))
    statement = sa.select(sa.func.count()).select_from(table).where(condition)
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    admin = await migrated.admin_connect()
    try:
        plan = json.loads(await admin.fetchval(f"EXPLAIN (FORMAT JSON) {sql}"))[0]["Plan"]
    finally:
        await admin.close()
    nodes = _nodes(plan)
    assert index in {n.get("Index Name") for n in nodes}, json.dumps(plan, indent=1)[:2000]
    assert "Seq Scan" not in {n["Node Type"] for n in nodes}
