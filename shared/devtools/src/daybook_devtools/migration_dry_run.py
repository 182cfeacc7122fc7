"""Try a history's pending revisions on the real database, inside one transaction, and roll back.

Each revision runs in a savepoint of that transaction, as the service's role (``SET LOCAL
ROLE``), with the migrations' ``lock_timeout``; every statement it sends and the rows each
one touched are recorded.  A revision that needs an autocommit block (``CREATE INDEX
CONCURRENTLY`` and friends) cannot run inside a transaction, so it could not be rolled
back: it is listed with that reason and skipped.  After a failure the later revisions are
not tried (they build on it).

The locks a revision takes are held until the rollback, as the real run would hold them
until its commit: run it when you would run the migration.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import event, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from daybook_common.db import async_url
from daybook_common.migrations import LOCK_TIMEOUT, alembic_config

#: Source text that marks a revision which must run outside a transaction.
_OUTSIDE_A_TRANSACTION = re.compile(r"autocommit_block|CONCURRENTLY", re.IGNORECASE)
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")
_OURS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@dataclass
class Statement:
    sql: str
    rows: int | None
    """Rows an INSERT/UPDATE/DELETE touched (``None`` for other statements)."""
    seconds: float


@dataclass
class Trial:
    revision: str
    doc: str
    skipped: str | None = None
    error: str | None = None
    statements: list[Statement] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(s.rows or 0 for s in self.statements)


@dataclass
class DryRun:
    schema: str
    current: str | None
    head: str | None
    trials: list[Trial]
    not_tried: list[str] = field(default_factory=list)


def _pending(script: ScriptDirectory, current: str | None) -> list[Script]:
    revisions = list(script.iterate_revisions("heads", current or "base"))
    return [r for r in reversed(revisions) if r is not None]


def _skip_reason(revision: Script) -> str | None:
    source = Path(revision.path).read_text()
    if _OUTSIDE_A_TRANSACTION.search(source):
        return (
            "runs outside a transaction (an autocommit block, e.g. CREATE INDEX CONCURRENTLY), "
            "so it cannot be tried and rolled back"
        )
    return None


class _Recorder:
    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self._began = 0.0

    def before(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        self._began = time.monotonic()

    def after(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        sql = " ".join(statement.split())
        if sql.upper().startswith(_OURS):  # the savepoint around each revision
            return
        rowcount = getattr(cursor, "rowcount", -1)
        rows = (
            rowcount if sql.upper().startswith(_WRITES) and rowcount is not None and rowcount >= 0 else None
        )
        self.statements.append(Statement(sql, rows, time.monotonic() - self._began))


def _try_all(connection: Connection, script: ScriptDirectory, schema: str, role: str) -> DryRun:
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    connection.execute(text(f'SET LOCAL ROLE "{role}"'))
    connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    current = context.get_current_revision()
    result = DryRun(schema, current, script.get_current_head(), [])
    recorder = _Recorder()
    event.listen(connection, "before_cursor_execute", recorder.before)
    event.listen(connection, "after_cursor_execute", recorder.after)
    try:
        pending = _pending(script, current)
        for index, revision in enumerate(pending):
            trial = Trial(revision.revision, (revision.doc or "").strip())
            result.trials.append(trial)
            trial.skipped = _skip_reason(revision)
            if trial.skipped:
                continue
            recorder.statements = []
            savepoint = connection.begin_nested()
            began = time.monotonic()
            try:
                with Operations.context(context):
                    revision.module.upgrade()
            except Exception as exc:
                savepoint.rollback()
                trial.error = f"{exc.__class__.__name__}: {' '.join(str(exc).split())[:500]}"
                result.not_tried = [r.revision for r in pending[index + 1 :]]
                break
            finally:
                trial.seconds = time.monotonic() - began
                trial.statements = recorder.statements
            savepoint.commit()
    finally:
        event.remove(connection, "before_cursor_execute", recorder.before)
        event.remove(connection, "after_cursor_execute", recorder.after)
    return result


async def _run(admin_url: str, script: ScriptDirectory, schema: str, role: str) -> DryRun:
    engine = create_async_engine(async_url(admin_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            try:
                return await connection.run_sync(_try_all, script, schema, role)
            finally:
                await connection.rollback()
    finally:
        await engine.dispose()


def dry_run(script_location: str, admin_url: str, schema: str, role: str | None = None) -> DryRun:
    """Try ``schema``'s pending revisions through ``admin_url`` (a superuser), as ``role``; roll back."""
    script = ScriptDirectory.from_config(alembic_config(script_location, admin_url, schema))
    return asyncio.run(_run(admin_url, script, schema, role or schema))
