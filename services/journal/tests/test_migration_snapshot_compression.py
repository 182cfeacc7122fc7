"""Migration ``journal_0020``: ``sessions.activities_json`` is compressed with lz4 where the server
has lz4 (the embedded wheel has not: there the column stays on the default), and back down."""

from __future__ import annotations

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION

#: The column's own compression method: ``l`` = lz4, ``p`` = pglz, empty = the server's default.
COMPRESSION = """
SELECT a.attcompression::text FROM pg_attribute a
WHERE a.attrelid = 'journal.sessions'::regclass AND a.attname = 'activities_json'
"""
HAS_LZ4 = "SELECT 'lz4' = ANY (enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"


async def test_journal_0020_sets_lz4_where_the_server_has_it_and_its_downgrade_the_default(
    fresh_database: TestDatabase,
) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0019")
    conn = await fresh_database.admin_connect()
    try:
        assert await conn.fetchval(COMPRESSION) == ""
        fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0020")
        assert await conn.fetchval(COMPRESSION) == ("l" if await conn.fetchval(HAS_LZ4) else "")
        fresh_database.downgrade(SCHEMA, SCRIPT_LOCATION, "journal_0019")
        assert await conn.fetchval(COMPRESSION) == ""
    finally:
        await conn.close()
