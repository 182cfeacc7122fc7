"""The checks every Alembic history must pass (single head, up/down/up, models match).

A service's ``tests/test_migrations.py`` calls :func:`check_history` with its own schema,
history and models.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool
from sqlalchemy.ext.asyncio import create_async_engine

from daybook_common.db import async_url
from daybook_common.migrations import alembic_config
from daybook_common.testing.databases import TestDatabase, run_in_thread


def heads(script_location: str) -> list[str]:
    cfg = alembic_config(script_location, "postgresql://x@localhost/x", "x")
    return list(ScriptDirectory.from_config(cfg).get_heads())


def model_diff(db: TestDatabase, schema: str, metadata: MetaData) -> list[Any]:
    """What autogenerate would add to reach the models (empty when they match)."""

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "schema":
            return name == schema
        return not (type_ == "table" and name == "alembic_version")

    def compare(connection: Any) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": include_name,
                "compare_type": True,
                "compare_server_default": True,
                "target_metadata": metadata,
            },
        )
        return list(compare_metadata(context, metadata))

    async def run() -> list[Any]:
        # Compare with the service schema OFF the search path: otherwise Alembic treats it as the
        # default schema (reported as None, so the schema filter drops every table) and reflects
        # foreign keys without their schema, which never match the schema-qualified models.
        engine = create_async_engine(
            async_url(db.url(schema)),
            poolclass=pool.NullPool,
            connect_args={"server_settings": {"search_path": "public"}},
        )
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return run_in_thread(lambda: asyncio.run(run()))


async def tables_in(db: TestDatabase, schema: str) -> set[str]:
    conn = await db.admin_connect()
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def check_history(db: TestDatabase, schema: str, script_location: str, metadata: MetaData) -> None:
    """One head; base→head→base→head on real PostgreSQL leaves exactly the tables it made;
    the models match the result (no drift either way).

    ``db`` must not have ``schema`` migrated yet (``fresh_database`` is per module)."""
    found = heads(script_location)
    assert len(found) == 1, f"{script_location} must have one head, has {found}"

    db.migrate(schema, script_location)
    at_head = await tables_in(db, schema)
    assert "alembic_version" in at_head, f"no alembic_version in {schema} after upgrade"
    missing = set(metadata.tables) - {f"{schema}.{t}" for t in at_head}
    assert not missing, f"model tables no migration creates: {sorted(missing)}"

    db.downgrade(schema, script_location, "base")
    left = await tables_in(db, schema) - {"alembic_version"}
    assert not left, f"tables left after downgrading to base: {sorted(left)}"

    db.migrate(schema, script_location)
    again = await tables_in(db, schema)
    assert again == at_head, f"upgrading again made {sorted(again)}, first time {sorted(at_head)}"

    drift = model_diff(db, schema, metadata)
    assert drift == [], f"models and migrations differ (what autogenerate would add): {drift}"
