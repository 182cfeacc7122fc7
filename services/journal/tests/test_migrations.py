"""The journal Alembic history: single head, base→head→base→head on real PostgreSQL, models match."""

from __future__ import annotations

from daybook_common.denylist import ADVISORY_LOCK_CLASS, DENIED_SQLSTATE, lock_key
from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.history import check_history
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.db.models import Base


async def test_history(fresh_database: TestDatabase) -> None:
    await check_history(fresh_database, SCHEMA, SCRIPT_LOCATION, Base.metadata)


async def test_the_write_guard_uses_the_lock_and_sqlstate_of_deny_user(fresh_database: TestDatabase) -> None:
    """The migration inlines the guard; it must take the very lock `deny_user` takes exclusively."""
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    conn = await fresh_database.admin_connect()
    try:
        body = await conn.fetchval("SELECT pg_get_functiondef('journal.refuse_denied_user'::regproc)")
    finally:
        await conn.close()
    assert f"pg_advisory_xact_lock_shared({ADVISORY_LOCK_CLASS}, {lock_key(SCHEMA)})" in body
    assert f"ERRCODE = '{DENIED_SQLSTATE}'" in body
