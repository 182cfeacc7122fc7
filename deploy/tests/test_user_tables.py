"""Every user-owned table of journal and reminders has both walls, so a new table cannot forget them.

- Row-level security, forced (applies to the owning role too): the second wall behind the
  services' own ``user_id`` conditions (ARCHITECTURE.md, "Database conventions").
- The ``refuse_denied_user`` trigger: a late request of an erased account cannot write a row
  that would outlive the erasure (README, "Security").

A table that rightly lacks one is listed below with the reason.
"""

from __future__ import annotations

import pytest

import daybook_journal
import daybook_reminders
from daybook_devtools.testing.databases import TestDatabase

USER_TABLES = """
SELECT n.nspname || '.' || c.relname AS name, c.relrowsecurity AND c.relforcerowsecurity AS forced_rls,
  EXISTS (
    SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
    WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND p.proname = 'refuse_denied_user'
  ) AS guarded
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname IN ('journal', 'reminders')
  AND EXISTS (
    SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped
  )
ORDER BY 1
"""

NO_RLS = {
    "journal.denied_users": "the deny-list itself: every process reads all of it before it serves",
    "reminders.denied_users": "the deny-list itself: every process reads all of it before it serves",
    # Written only by the audit triggers (whoever acts: the owner, an admin, a background job) and
    # read only by operators (`daybook audit`); no request reads it.
    "journal.audit_log": "the audit trail: written by triggers, read by operators only",
    "reminders.audit_log": "the audit trail: written by triggers, read by operators only",
}
NO_GUARD = NO_RLS | {
    "journal.journal_entry_tags": "a link row: its entry and its tag are guarded and referenced",
    "journal.task_tags": "a link row: its task and its tag are guarded and referenced",
    "reminders.notifications": "written by the scheduler from live reminders, never by a request",
    "reminders.known_tasks": "a projection of journal's task events, never written by a request",
    # A refused write is rolled back with the audit row its trigger wrote.
}


@pytest.fixture(scope="module")
async def tables(fresh_database: TestDatabase) -> dict[str, tuple[bool, bool]]:
    fresh_database.migrate("journal", daybook_journal.SCRIPT_LOCATION)
    fresh_database.migrate("reminders", daybook_reminders.SCRIPT_LOCATION)
    conn = await fresh_database.admin_connect()
    try:
        rows = await conn.fetch(USER_TABLES)
    finally:
        await conn.close()
    return {row["name"]: (row["forced_rls"], row["guarded"]) for row in rows}


async def test_the_query_sees_the_user_tables(tables: dict[str, tuple[bool, bool]]) -> None:
    for name in ("journal.journal_entries", "journal.goals", "reminders.reminders", *NO_GUARD):
        assert name in tables, f"{name} is not a user table any more: update this test"


async def test_every_user_table_forces_row_level_security(tables: dict[str, tuple[bool, bool]]) -> None:
    missing = sorted(name for name, (forced, _) in tables.items() if not forced and name not in NO_RLS)
    assert missing == [], f"user tables without forced row-level security: {missing}"


async def test_every_user_table_refuses_erased_accounts(tables: dict[str, tuple[bool, bool]]) -> None:
    missing = sorted(name for name, (_, guarded) in tables.items() if not guarded and name not in NO_GUARD)
    assert missing == [], f"user tables without the refuse_denied_user trigger: {missing}"
