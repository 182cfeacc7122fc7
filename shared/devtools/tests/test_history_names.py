"""``name_diff`` (part of every history's ``check_history``) sees constraint and index names that
differ from the models', which autogenerate's comparison does not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from daybook_common.db import async_url
from daybook_common.models import service_registry
from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.history import model_diff, name_diff

SCHEMA = "reminders"  # a provisioned schema of this module's own database; tables made here
metadata = service_registry(SCHEMA).metadata  # the services' naming convention
parents = sa.Table(
    "parents",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("code", sa.Text, nullable=False, unique=True),
    sa.CheckConstraint("id > 0", name="id_positive"),
)
children = sa.Table(
    "children",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("parent_id", sa.BigInteger, sa.ForeignKey(f"{SCHEMA}.parents.id"), nullable=False),
    sa.Index("ix_children_parent_id", "parent_id"),
)


async def admin_execute(db: TestDatabase, *statements: str) -> None:
    conn = await db.admin_connect()
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def migrated(fresh_database: TestDatabase) -> AsyncIterator[TestDatabase]:
    """``SCHEMA`` holding exactly the models' tables, as a correct history would leave it."""
    engine = create_async_engine(async_url(fresh_database.admin_dsn()))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield fresh_database
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
    finally:
        await engine.dispose()


async def test_same_names_match_and_leave_no_scratch_schema(migrated: TestDatabase) -> None:
    assert name_diff(migrated, SCHEMA, metadata) == []
    conn = await migrated.admin_connect()
    try:
        scratch = await conn.fetch(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'names\\_%' ESCAPE '\\'"
        )
    finally:
        await conn.close()
    assert scratch == []


async def test_a_doubled_check_name_is_reported(migrated: TestDatabase) -> None:
    # What a migration gets by passing name="ck_parents_id_positive" under the naming convention.
    await admin_execute(
        migrated,
        f"ALTER TABLE {SCHEMA}.parents RENAME CONSTRAINT ck_parents_id_positive TO ck_parents_ck_parents_id_positive",
    )
    assert name_diff(migrated, SCHEMA, metadata) == [
        "parents check: migrations have ['ck_parents_ck_parents_id_positive'], models ['ck_parents_id_positive']"
    ]


async def test_other_kinds_and_unmodelled_constraints_are_reported(migrated: TestDatabase) -> None:
    await admin_execute(
        migrated,
        f"ALTER INDEX {SCHEMA}.ix_children_parent_id RENAME TO ix_children_parent",
        f"ALTER TABLE {SCHEMA}.children RENAME CONSTRAINT fk_children_parent_id_parents TO children_parent_id_fkey",
        f"ALTER TABLE {SCHEMA}.parents RENAME CONSTRAINT uq_parents_code TO parents_code_key",
        f"ALTER TABLE {SCHEMA}.children ADD CONSTRAINT ck_children_small CHECK (id < 100)",
    )
    assert name_diff(migrated, SCHEMA, metadata) == [
        "children check: migrations have ['ck_children_small'], models []",
        "children foreign key: migrations have ['children_parent_id_fkey'], models ['fk_children_parent_id_parents']",
        "children index: migrations have ['ix_children_parent'], models ['ix_children_parent_id']",
        "parents unique: migrations have ['parents_code_key'], models ['uq_parents_code']",
    ]


async def test_autogenerate_alone_misses_a_renamed_check(migrated: TestDatabase) -> None:
    """Why ``name_diff`` exists: the comparison the history test had before passes here."""
    await admin_execute(
        migrated,
        f"ALTER TABLE {SCHEMA}.parents RENAME CONSTRAINT ck_parents_id_positive TO ck_parents_ck_parents_id_positive",
    )
    assert model_diff(migrated, SCHEMA, metadata) == []
    assert name_diff(migrated, SCHEMA, metadata) != []
