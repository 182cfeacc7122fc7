"""The users Alembic history: single head, base→head→base→head on real PostgreSQL, models match."""

from __future__ import annotations

from daybook_common.testing.databases import TestDatabase
from daybook_common.testing.history import heads, model_diff, tables_in
from daybook_users import SCHEMA, SCRIPT_LOCATION
from daybook_users.db.models import Base


def test_single_head() -> None:
    assert len(heads(SCRIPT_LOCATION)) == 1


async def test_upgrade_downgrade_upgrade(fresh_database: TestDatabase) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    at_head = await tables_in(fresh_database, SCHEMA)
    assert "alembic_version" in at_head
    assert set(Base.metadata.tables) <= {f"{SCHEMA}.{t}" for t in at_head}
    fresh_database.downgrade(SCHEMA, SCRIPT_LOCATION, "base")
    assert await tables_in(fresh_database, SCHEMA) <= {"alembic_version"}
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    assert await tables_in(fresh_database, SCHEMA) == at_head


def test_models_match_migrations(fresh_database: TestDatabase) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    assert model_diff(fresh_database, SCHEMA, Base.metadata) == []
