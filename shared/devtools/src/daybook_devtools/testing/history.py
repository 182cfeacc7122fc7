"""The checks every Alembic history must pass (single head, up/down/up, models match).

Autogenerate compares neither constraint names nor CHECK constraints, so :func:`name_diff`
compares the names of constraints and indexes on their own: a migration that names a constraint
otherwise than the models do (or adds a CHECK they lack) has drifted all the same.

A service's ``tests/test_migrations.py`` calls :func:`check_history` with its own schema,
history and models.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.schema import CreateSchema

from daybook_common.db import async_url
from daybook_common.migrations import alembic_config
from daybook_devtools.migration_lint import lint
from daybook_devtools.testing.databases import TestDatabase, run_in_thread

CONSTRAINT_KINDS = {"c": "check", "u": "unique", "f": "foreign key", "p": "primary key", "x": "exclusion"}
# Every constraint and index on the schema's tables but Alembic's version table. An index that
# backs a primary key, unique or exclusion constraint has the constraint's name and is left out.
NAMES_SQL = """
SELECT t.relname AS table_name, c.contype::text AS kind, c.conname AS name
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = :schema AND c.contype::text IN ('c', 'u', 'f', 'p', 'x')
  AND t.relname <> 'alembic_version'
UNION ALL
SELECT t.relname, 'i', i.relname
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = :schema AND t.relname <> 'alembic_version'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid)
"""

Name = tuple[str, str, str]  # (table, kind, name)


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


async def names_in(conn: AsyncConnection, schema: str) -> set[Name]:
    rows = await conn.execute(text(NAMES_SQL), {"schema": schema})
    return {(r.table_name, CONSTRAINT_KINDS.get(r.kind, "index"), r.name) for r in rows}


def describe_name_diff(migrated: set[Name], models: set[Name]) -> list[str]:
    """One line per table and kind whose names differ, e.g.
    ``users check: migrations have ['ck_users_ck_users_email_shape'], models ['ck_users_email_shape']``."""
    differ: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for table, kind, name in sorted(migrated - models):
        differ[(table, kind)][0].append(name)
    for table, kind, name in sorted(models - migrated):
        differ[(table, kind)][1].append(name)
    return [
        f"{table} {kind}: migrations have {have}, models {want}"
        for (table, kind), (have, want) in sorted(differ.items())
    ]


def name_diff(db: TestDatabase, schema: str, metadata: MetaData) -> list[str]:
    """Where the constraint and index names of the migrated ``schema`` differ from the models'.

    The models' names are what PostgreSQL gets from ``metadata.create_all`` (naming convention,
    truncation and all), run into a scratch schema of the same database through
    ``schema_translate_map`` in a transaction that is rolled back. Empty when they match."""
    scratch = f"names_{uuid.uuid4().hex[:12]}"

    async def run() -> list[str]:
        engine = create_async_engine(async_url(db.admin_dsn()), poolclass=pool.NullPool)
        try:
            async with engine.connect() as conn, conn.begin() as transaction:
                await conn.execute(CreateSchema(scratch))
                translated = await conn.execution_options(schema_translate_map={schema: scratch})
                await translated.run_sync(lambda sync: metadata.create_all(sync, checkfirst=False))
                migrated, models = await names_in(conn, schema), await names_in(conn, scratch)
                await transaction.rollback()
            return describe_name_diff(migrated, models)
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
    the models match the result (no drift either way), down to constraint and index names;
    squawk finds the offline SQL safe on a live table.

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

    names = name_diff(db, schema, metadata)
    assert names == [], "constraint and index names differ (migrations vs models):\n  " + "\n  ".join(names)

    linted = lint(script_location, schema)
    assert linted.ok, f"squawk finds the offline SQL of {schema} unsafe on a live table:\n{linted.output}"
