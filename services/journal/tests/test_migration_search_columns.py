"""Migration ``journal_0019``: the generated ``search`` columns go; the downgrade computes them again."""

from __future__ import annotations

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION

USER = "00000000-0000-7000-8000-000000000001"
ENTRY = "00000000-0000-7000-8000-0000000000e1"
TASK = "00000000-0000-7000-8000-0000000000f1"

SEED = f"""
INSERT INTO journal.journal_entries (id, user_id, title, content, entry_date, created_at, updated_at)
VALUES ('{ENTRY}', '{USER}', 'Lisbon', 'Trams and tiles', now(), now(), now());
INSERT INTO journal.tasks (id, user_id, title, created_at, updated_at)
VALUES ('{TASK}', '{USER}', 'Book flights', now(), now());
"""
GENERATED_SEARCH = """
SELECT c.relname AS table_name, a.attgenerated::text AS generated
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'journal' AND a.attname = 'search' AND NOT a.attisdropped
ORDER BY 1
"""
AUDIT_SOURCES = """
SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'journal' AND p.proname IN ('audit_journal_entries', 'audit_tasks') ORDER BY 1
"""


async def test_journal_0019_drops_the_columns_and_its_downgrade_computes_them_again(
    fresh_database: TestDatabase,
) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0018")
    conn = await fresh_database.admin_connect()
    try:
        await conn.execute(SEED)
        assert [tuple(r) for r in await conn.fetch(GENERATED_SEARCH)] == [
            ("journal_entries", "s"),
            ("tasks", "s"),
        ]
        audit_before = await conn.fetch(AUDIT_SOURCES)

        fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0019")
        assert await conn.fetch(GENERATED_SEARCH) == []
        # The functions issued again are the ones journal_0014 made: ``search`` was never compared.
        assert await conn.fetch(AUDIT_SOURCES) == audit_before
        # The triggers still record a change of the searched text, naming only what changed.
        async with conn.transaction():
            await conn.execute(f"SELECT set_config('app.user_id', '{USER}', true)")
            await conn.execute(f"UPDATE journal.journal_entries SET title = 'Porto' WHERE id = '{ENTRY}'")
            await conn.execute(f"UPDATE journal.tasks SET description = 'Tuesday' WHERE id = '{TASK}'")
        changes = await conn.fetch(
            "SELECT table_name, changed FROM journal.audit_log WHERE op = 'update' ORDER BY id"
        )
        assert [tuple(r) for r in changes] == [("journal_entries", ["title"]), ("tasks", ["description"])]

        fresh_database.downgrade(SCHEMA, SCRIPT_LOCATION, "journal_0018")
        assert [tuple(r) for r in await conn.fetch(GENERATED_SEARCH)] == [
            ("journal_entries", "s"),
            ("tasks", "s"),
        ]
        # Computed for the rows already there, as journal_0002 generated them ('simple': no stop words).
        assert await conn.fetchval(
            f"SELECT search::text FROM journal.journal_entries WHERE id = '{ENTRY}'"
        ) == ("'and':3 'porto':1 'tiles':4 'trams':2")
        assert await conn.fetchval(f"SELECT search::text FROM journal.tasks WHERE id = '{TASK}'") == (
            "'book':1 'flights':2 'tuesday':3"
        )
        assert await conn.fetch(AUDIT_SOURCES) == audit_before
    finally:
        await conn.close()
