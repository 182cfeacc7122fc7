"""Run bounded batches of SQL, each in its own short transaction, on whatever handle the caller has.

Accepted handles: a SQLAlchemy ``AsyncEngine``, ``AsyncConnection`` or ``AsyncSession``,
or an asyncpg ``Connection`` or ``Pool``.  SQL uses ``$1``-style parameters.  With a
SQLAlchemy connection or session each batch is committed (so do not pass one holding
uncommitted work you might roll back).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

#: A handle :func:`run_batch` accepts.
BatchTarget: TypeAlias = (
    AsyncEngine | AsyncConnection | AsyncSession | asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool
)


def _count(status: str) -> int:
    """Rows affected from an asyncpg status such as ``DELETE 42``."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def run_batch(target: BatchTarget, settings: Sequence[tuple[str, str]], sql: str, *args: Any) -> int:
    """Set LOCAL ``settings`` and run ``sql`` in one transaction; return the affected row count."""
    setup = [f"SELECT set_config('{name}', '{value}', true)" for name, value in settings]
    if isinstance(target, AsyncEngine):
        async with target.begin() as conn:
            return await _sa_run(conn, setup, sql, args)
    if isinstance(target, AsyncConnection | AsyncSession):
        try:
            count = await _sa_run(target, setup, sql, args)
        except BaseException:
            await target.rollback()
            raise
        await target.commit()
        return count
    if isinstance(target, asyncpg.Pool):
        async with target.acquire() as conn:
            return await _pg_run(conn, setup, sql, args)
    return await _pg_run(target, setup, sql, args)


async def _sa_run(
    target: AsyncConnection | AsyncSession, setup: list[str], sql: str, args: tuple[Any, ...]
) -> int:
    conn = await target.connection() if isinstance(target, AsyncSession) else target
    for statement in setup:
        await conn.exec_driver_sql(statement)
    result = await conn.exec_driver_sql(sql, args)
    return int(result.rowcount or 0)


async def _pg_run(
    conn: asyncpg.Connection | PoolConnectionProxy, setup: list[str], sql: str, args: tuple[Any, ...]
) -> int:
    async with conn.transaction():
        for statement in setup:
            await conn.execute(statement)
        return _count(await conn.execute(sql, *args))
