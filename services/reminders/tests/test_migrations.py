"""The reminders Alembic history: single head, base→head→base→head on real PostgreSQL, models match."""

from __future__ import annotations

from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.history import check_history
from daybook_reminders import SCHEMA, SCRIPT_LOCATION
from daybook_reminders.db.models import Base


async def test_history(fresh_database: TestDatabase) -> None:
    await check_history(fresh_database, SCHEMA, SCRIPT_LOCATION, Base.metadata)
