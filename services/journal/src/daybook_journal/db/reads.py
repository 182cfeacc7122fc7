"""The read path of the list endpoints: one statement, one round trip, no ORM.

``GET`` lists are the hot path, so they skip the per-request SQLAlchemy session (and
its BEGIN / set_config / COMMIT round trips) and run one statement on a plain asyncpg
pool.  Row-level security still applies: every list statement is wrapped by
:func:`scoped`, which evaluates ``set_config('app.user_id', $uid, true)`` in a
one-row subquery and joins the real query ``LATERAL`` to it.  A lateral subquery is
evaluated only after its outer row exists, so the setting is in place before any
protected row is read, and ``is_local = true`` scopes it to the statement's own
(implicit) transaction, exactly like ``SET LOCAL`` in an explicit one.  Should that
ever not hold, the policies see no user and return nothing (fail closed); the queries
also filter by ``user_id`` themselves.

Statements are built with SQLAlchemy Core and compiled once per shape (which optional
filters are present) to ``$n`` SQL for asyncpg; the pool keeps generic plans so
PostgreSQL does not re-plan them on every call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.sql.compiler import SQLCompiler

from daybook_common.db import DatabaseSettings, plain_url

_DIALECT = PGDialect_asyncpg(paramstyle="numeric_dollar")
READ_POOL_STATE_KEY = "journal_read_pool"


@dataclass(frozen=True)
class CompiledQuery:
    """SQL text with ``$n`` placeholders and, for each, the bind parameter's name or fixed value."""

    sql: str
    names: tuple[str, ...]
    fixed: Mapping[str, Any]

    @classmethod
    def of(cls, statement: sa.ClauseElement) -> CompiledQuery:
        compiled = cast(SQLCompiler, statement.compile(dialect=_DIALECT))
        names = tuple(compiled.positiontup or ())
        fixed = {name: value for name, value in compiled.params.items() if value is not None}
        return cls(sql=str(compiled), names=names, fixed=fixed)

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[name] if name in values else self.fixed.get(name) for name in self.names]


def caller() -> Any:
    """The caller's id as a plain parameter, for subqueries nested inside a :func:`scoped` body."""
    return sa.cast(sa.bindparam("uid", type_=sa.Text), sa.Uuid)


def scoped(build: Callable[[Any], sa.Select[Any]], order: Sequence[str]) -> sa.Select[Any]:
    """``build(user_id)`` wrapped so ``app.user_id`` is set (statement-local) before it runs.

    ``build`` receives the SQL expression for the caller's id and must filter its main
    table by it; nested subqueries may use :func:`caller` too.  ``order`` repeats its ORDER BY (column names of its result,
    e.g. ``"entry_date DESC"``) for the outer query.
    """
    bound = sa.func.set_config(
        sa.literal_column("'app.user_id'"), sa.bindparam("uid", type_=sa.Text), sa.literal_column("true")
    )
    rls = sa.select(bound.label("uid")).offset(sa.literal_column("0")).subquery("rls")
    # The main table is filtered by the plain parameter (so every planner, PostgreSQL 15
    # included, makes it an index condition); the reference to ``rls.uid`` keeps the page
    # LATERAL, so it runs only once the ``rls`` row (and its set_config) exists.
    page = build(caller()).where(rls.c.uid.is_not(None)).lateral("page")
    return (
        sa.select(page)
        .select_from(rls)
        .join(page, sa.true())
        .order_by(*(sa.literal_column(f"page.{term}") for term in order))
    )


async def _no_reset(connection: asyncpg.Connection) -> None:
    """Nothing to reset: list statements leave no session state (their setting is statement-local)."""


class ReadPool:
    """An asyncpg pool for the one-statement list reads (separate from the ORM's pool)."""

    def __init__(self, database: DatabaseSettings, application_name: str) -> None:
        self.database = database
        self.application_name = application_name
        self.pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        db = self.database
        self.pool = await asyncpg.create_pool(
            plain_url(db.url),
            min_size=0,
            max_size=max(1, db.pool_size),
            max_inactive_connection_lifetime=300,
            reset=_no_reset,
            server_settings={
                "search_path": db.schema,
                "application_name": self.application_name,
                "statement_timeout": str(db.statement_timeout_ms),
                "plan_cache_mode": "force_generic_plan",
            },
        )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def fetch(self, query: CompiledQuery, values: Mapping[str, Any]) -> Sequence[asyncpg.Record]:
        if self.pool is None:
            raise RuntimeError("the read pool is not started")
        rows: list[asyncpg.Record] = await self.pool.fetch(query.sql, *query.args(values))
        return rows


@dataclass(slots=True)
class UserReads:
    """The caller's read handle for list endpoints."""

    pool: ReadPool
    user_id: uuid.UUID

    async def fetch(self, query: CompiledQuery, **values: Any) -> Sequence[asyncpg.Record]:
        return await self.pool.fetch(query, {"uid": str(self.user_id), **values})
