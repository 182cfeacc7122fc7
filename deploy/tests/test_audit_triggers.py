"""Every user-owned table of every service carries the audit trigger, and each trigger function
compares every column the table has now (a migration that adds a column must regenerate it with
``daybook_common.audit.trigger_sql``); the tables that rightly lack it are listed with the reason.
The audit table itself is outside row-level security and the denied-user guard, for the reasons
listed in ``test_user_tables.py``'s exceptions."""

from __future__ import annotations

import re

import pytest

import daybook_journal
import daybook_reminders
import daybook_users
from daybook_common.audit import NOT_LISTED
from daybook_devtools.testing.databases import TestDatabase

OWNED_TABLES = """
SELECT n.nspname || '.' || c.relname AS name,
  (SELECT p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
   WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgname = c.relname || '_audit') AS audit_source,
  ARRAY(SELECT a.attname::text FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname IN ('journal', 'reminders', 'users')
  AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id' AND NOT a.attisdropped)
       OR (n.nspname, c.relname) = ('users', 'users'))
ORDER BY 1
"""

NOT_AUDITED = {
    "journal.audit_log": "the trail itself",
    "reminders.audit_log": "the trail itself",
    "users.audit_log": "the trail itself",
    "journal.denied_users": "the deny-list: written by the deletion consumer, not by a user",
    "reminders.denied_users": "the deny-list: written by the deletion consumer, not by a user",
    "journal.idempotency_keys": "a cache of responses to creates, which are audited on their own tables",
    "reminders.idempotency_keys": "a cache of responses to creates, which are audited on their own tables",
    "users.idempotency_keys": "a cache of register responses; the account's insert is audited",
    "journal.entry_revisions": "copies the audited entry update saves",
    "reminders.known_tasks": "a projection of the journal's tasks, audited there",
    "users.security_events": "itself the account's record of its security events (GET /users/me/activity)",
    "users.mail_outbox": "mail queued by audited changes; a reset request's mail may belong to no account",
}


@pytest.fixture(scope="module")
async def tables(fresh_database: TestDatabase) -> dict[str, tuple[str | None, list[str]]]:
    for schema, package in (
        ("users", daybook_users),
        ("journal", daybook_journal),
        ("reminders", daybook_reminders),
    ):
        fresh_database.migrate(schema, package.SCRIPT_LOCATION)
    conn = await fresh_database.admin_connect()
    try:
        rows = await conn.fetch(OWNED_TABLES)
    finally:
        await conn.close()
    return {row["name"]: (row["audit_source"], list(row["columns"])) for row in rows}


async def test_every_user_owned_table_is_audited(tables: dict[str, tuple[str | None, list[str]]]) -> None:
    assert "journal.journal_entries" in tables and "users.users" in tables
    missing = sorted(
        name for name, (source, _) in tables.items() if source is None and name not in NOT_AUDITED
    )
    assert missing == [], f"user tables without the audit trigger: {missing}"
    stale = sorted(name for name in NOT_AUDITED if name not in tables)
    assert stale == [], f"listed as not audited but gone: {stale}"


async def test_each_audit_function_compares_every_column_of_its_table(
    tables: dict[str, tuple[str | None, list[str]]],
) -> None:
    for name, (source, columns) in tables.items():
        if source is None:
            continue
        compared = set(re.findall(r"NEW\.(\w+) IS DISTINCT FROM OLD\.\1", source))
        expected = {c for c in columns if c not in NOT_LISTED}
        assert compared == expected, f"{name}: its audit function is stale (regenerate it with trigger_sql)"
        assert "audit_log" in source and "app.user_id" in source
