"""Migration ``journal_0003``: the backfill gives every entry exactly the list the old subquery gave."""

from __future__ import annotations

import json

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION

#: Users x entries; more linked entries than one backfill batch (5,000), so batches chain.
USERS, ENTRIES_PER_USER = 3, 4000

# Per user: tags whose names sort differently by lower() than as written, by case, and
# by byte (non-ASCII); entries with no, one, two or every tag (links chosen by row number),
# live and trashed.
SEED = f"""
SET app.rls_bypass = 'on';
INSERT INTO journal.tags (id, user_id, name, color, created_at, updated_at)
SELECT gen_random_uuid(), u.id, n.name, '#' || lpad(to_hex(n.i * 99999), 6, '0'), now(), now()
FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, {USERS})) AS u
CROSS JOIN (VALUES (1, 'beta'), (2, 'Alpha'), (3, 'ALPHA 2'), (4, 'émile'), (5, 'Zed'), (6, 'z "quoted"'))
    AS n (i, name);
INSERT INTO journal.journal_entries (id, user_id, content, entry_date, created_at, updated_at, deleted_at)
SELECT gen_random_uuid(), u.user_id, 'x', now() - g * interval '1 hour', now(), now(),
       CASE WHEN g % 10 = 0 THEN now() END
FROM (SELECT DISTINCT user_id FROM journal.tags) AS u CROSS JOIN generate_series(1, {ENTRIES_PER_USER}) AS g;
INSERT INTO journal.journal_entry_tags (entry_id, tag_id, user_id)
SELECT e.id, t.id, e.user_id
FROM (SELECT id, user_id, row_number() OVER (ORDER BY id) AS n FROM journal.journal_entries) AS e
JOIN (SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY name) AS k FROM journal.tags) AS t
  ON t.user_id = e.user_id
WHERE e.n % 4 = 1 AND t.k = 1 + e.n % 6
   OR e.n % 4 = 2 AND t.k IN (1 + e.n % 6, 1 + (e.n + 3) % 6)
   OR e.n % 4 = 3;
"""

#: What ``GET /entries`` used to compute per entry (journal_0002's list statement).
OLD_SUBQUERY = """
SELECT e.id, e.tags::text AS tags, (
    SELECT coalesce(
        json_agg(json_build_object('id', t.id, 'name', t.name, 'color', t.color) ORDER BY lower(t.name), t.id),
        '[]'::json)::text
    FROM journal.journal_entry_tags l JOIN journal.tags t ON t.id = l.tag_id
    WHERE l.entry_id = e.id
) AS old
FROM journal.journal_entries e
"""


async def test_backfill_equals_the_old_subquery(fresh_database: TestDatabase) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0002")
    conn = await fresh_database.admin_connect()
    try:
        await conn.execute(SEED)
        linked = await conn.fetchval("SELECT count(DISTINCT entry_id) FROM journal.journal_entry_tags")
        assert linked > 5000
        fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0003")
        rows = await conn.fetch(OLD_SUBQUERY)
    finally:
        await conn.close()
    assert len(rows) == USERS * ENTRIES_PER_USER
    # The same values, in the same order (json text compared as parsed documents).
    assert [json.loads(r["tags"]) for r in rows] == [json.loads(r["old"]) for r in rows]
    sizes = {len(json.loads(r["tags"])) for r in rows}
    assert sizes == {0, 1, 2, 6}
    names = next(json.loads(r["tags"]) for r in rows if len(json.loads(r["tags"])) == 6)
    assert [t["name"] for t in names] == ["Alpha", "ALPHA 2", "beta", 'z "quoted"', "Zed", "émile"]

    # Reversible, and the backfill again gives the same on the way back up.
    fresh_database.downgrade(SCHEMA, SCRIPT_LOCATION, "journal_0002")
    conn = await fresh_database.admin_connect()
    try:
        columns = await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = 'journal' AND table_name = 'journal_entries' AND column_name = 'tags'"
        )
        assert columns == 0
        fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0003")
        again = await conn.fetch(OLD_SUBQUERY)
    finally:
        await conn.close()
    assert [json.loads(r["tags"]) for r in again] == [json.loads(r["old"]) for r in again]
