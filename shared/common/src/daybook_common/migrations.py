"""Alembic for one service: its own history, its own schema, its own version table.

Each service's ``db/migrations/env.py`` is three lines that call :func:`run_env`.
Histories are run programmatically (``daybook migrate``, the test harness); no
``alembic.ini`` is needed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from daybook_common.db import async_url, split_tls

# Re-exported: the version table's name and its reader live where no Alembic is imported.
from daybook_common.revisions import VERSION_TABLE as VERSION_TABLE
from daybook_common.revisions import current_revision as current_revision

LOCK_TIMEOUT = "5s"


def alembic_config(script_location: str, url: str, schema: str) -> Config:
    """``script_location`` is a package resource such as ``daybook_journal.db:migrations``."""
    cfg = Config()
    cfg.set_main_option("script_location", script_location)
    cfg.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    cfg.attributes["schema"] = schema
    return cfg


def head_revision(script_location: str) -> str | None:
    script = ScriptDirectory.from_config(alembic_config(script_location, "postgresql://x@localhost/x", "x"))
    return script.get_current_head()


def is_known_revision(script_location: str, revision: str) -> bool:
    """Whether ``revision`` is in this code's history (a backup or database made by newer code is not)."""
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(alembic_config(script_location, "postgresql://x@localhost/x", "x"))
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


def upgrade(script_location: str, url: str, schema: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(script_location, url, schema), revision)


def downgrade(script_location: str, url: str, schema: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(script_location, url, schema), revision)


def _configure(connection: Connection | None, url: str | None, metadata: MetaData, schema: str) -> None:
    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "schema":
            return name == schema
        return True

    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=include_name,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=True,
        literal_binds=connection is None,
        dialect_opts={"paramstyle": "named"} if connection is None else {},
    )


def _run_sync(connection: Connection, metadata: MetaData, schema: str) -> None:
    connection.execute(text(f"SET lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(text(f'SET search_path TO "{schema}"'))
    connection.commit()
    _configure(connection, None, metadata, schema)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str, metadata: MetaData, schema: str) -> None:
    url, tls = split_tls(url)
    engine = create_async_engine(
        url, poolclass=pool.NullPool, connect_args={} if tls is None else {"ssl": tls}
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run_sync, metadata, schema)
    await engine.dispose()


def run_env(metadata: MetaData) -> None:
    """Body of every service's ``env.py``."""
    config = context.config
    schema = config.attributes.get("schema") or metadata.schema
    assert schema, "a service history needs its schema"
    url = config.get_main_option("sqlalchemy.url")
    assert url
    if context.is_offline_mode():
        _configure(None, url, metadata, schema)
        with context.begin_transaction():
            context.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection, metadata, schema)
        return
    asyncio.run(_run_online(url, metadata, schema))


def offline_sql(script_location: str, schema: str) -> str:
    """The SQL ``alembic upgrade --sql`` would emit for the whole history (for squawk)."""
    import io

    buffer = io.StringIO()
    cfg = alembic_config(script_location, "postgresql+asyncpg://lint@localhost/lint", schema)
    cfg.output_buffer = buffer
    command.upgrade(cfg, "head", sql=True)
    return buffer.getvalue()


def migration_context_for(connection: Connection, schema: str) -> MigrationContext:
    return MigrationContext.configure(connection, opts={"version_table_schema": schema})
