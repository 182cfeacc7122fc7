"""Migration ``journal_0017``: names that collide under ``journal.name_key`` are renamed first."""

from __future__ import annotations

import json

from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA, SCRIPT_LOCATION

USER = "00000000-0000-7000-8000-000000000001"
ROOT = "00000000-0000-7000-8000-0000000000a0"
LONG = "x" * 49

# Rows in created_at order; later duplicates of a key get the first free " (n)": "école (2)"
# exists already, so "école" becomes "école (3)" and the NFD spelling "… (4)".
SEED = f"""
SET app.rls_bypass = 'on';
INSERT INTO journal.tags (id, user_id, name, color, created_at, updated_at)
SELECT gen_random_uuid(), '{USER}', name, '#808080', now() + n * interval '1 second', now()
FROM (VALUES (1, 'École'), (2, 'école'), (3, 'E' || U&'\\0301' || 'cole'), (4, 'école (2)'),
             (5, 'Straße'), (6, 'STRASSE'), (7, 'É{LONG}'), (8, 'é{LONG}')) AS v (n, name);
INSERT INTO journal.journal_entries (id, user_id, content, entry_date, created_at, updated_at)
VALUES ('00000000-0000-7000-8000-0000000000e1', '{USER}', 'x', now(), now(), now());
INSERT INTO journal.journal_entry_tags (entry_id, tag_id, user_id)
SELECT '00000000-0000-7000-8000-0000000000e1', id, user_id FROM journal.tags WHERE name IN ('École', 'école');
UPDATE journal.journal_entries SET tags = '[]';
INSERT INTO journal.goals (id, user_id, root_id, depth, title, created_at, updated_at)
VALUES ('{ROOT}', '{USER}', '{ROOT}', 0, 'g', now(), now());
INSERT INTO journal.activity_groups (id, user_id, root_id, goal_id, name, created_at, updated_at)
SELECT gen_random_uuid(), '{USER}', '{ROOT}', '{ROOT}', name, now() + n * interval '1 second', now()
FROM (VALUES (1, 'Étirements'), (2, 'étirements')) AS v (n, name);
INSERT INTO journal.activities (id, user_id, root_id, goal_id, name, created_at, updated_at, deleted_at)
SELECT gen_random_uuid(), '{USER}', '{ROOT}', '{ROOT}', name, now() + n * interval '1 second', now(), deleted
FROM (VALUES (1, 'Écart', now()), (2, 'écart', NULL)) AS v (n, name, deleted);
"""


async def test_colliding_names_are_renamed_before_the_unique_indexes(fresh_database: TestDatabase) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0016")
    conn = await fresh_database.admin_connect()
    try:
        await conn.execute(SEED)
        fresh_database.migrate(SCHEMA, SCRIPT_LOCATION, "journal_0017")
        await conn.execute("SET app.rls_bypass = 'on'")
        tags = await conn.fetch("SELECT name, version FROM journal.tags ORDER BY created_at")
        entry_tags = await conn.fetchval("SELECT tags::text FROM journal.journal_entries")
        groups = await conn.fetch("SELECT name FROM journal.activity_groups ORDER BY created_at")
        activities = await conn.fetch("SELECT name FROM journal.activities ORDER BY created_at")
    finally:
        await conn.close()
    assert (
        [(t["name"], t["version"]) for t in tags]
        == [
            ("École", 1),
            ("école (3)", 2),
            ("E\u0301cole (4)", 2),
            ("école (2)", 1),
            ("Straße", 1),  # not the same name as STRASSE: lower() has no "ß" → "ss"
            ("STRASSE", 1),
            (f"É{LONG}", 1),
            (f"é{LONG[:45]} (2)", 2),  # cut to the 50-character limit
        ]
    )
    assert [t["name"] for t in json.loads(entry_tags)] == ["École", "école (3)"]
    assert [g["name"] for g in groups] == ["Étirements", "étirements (2)"]
    assert [a["name"] for a in activities] == ["Écart", "écart"]  # a trashed row does not collide
