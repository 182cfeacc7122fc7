"""The read path of the list endpoints: one statement, one round trip, no ORM (and the pool
the entry create path shares, see :meth:`ReadPool.transaction`).

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

import asyncio
import contextlib
import datetime
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.sql.compiler import SQLCompiler

from daybook_common.db import DatabaseSettings, client_timeouts, plain_url
from daybook_common.instants import MAX_INSTANT, MIN_INSTANT
from daybook_common.logs import request_id_var
from daybook_common.observability import is_valid_request_id
from daybook_journal.db.rows import AnySelect

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


def scoped(build: Callable[[Any], AnySelect], order: Sequence[str]) -> AnySelect:
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


_UTC = datetime.UTC
#: asyncpg's stand-ins for ``±infinity`` (naive, as its codec returns and recognises them in parameters).
_INFINITY = datetime.datetime.max
_NEGATIVE_INFINITY = datetime.datetime.min
_from_iso = datetime.datetime.fromisoformat


def _decode_timestamptz(text: str) -> datetime.datetime:
    """PostgreSQL's text form of a ``timestamptz`` (``DateStyle=ISO``, ``TimeZone=UTC``) → an aware datetime.

    Gives what the ORM's ``DateTimeUTC`` columns give from asyncpg's own (binary) codec — the
    instant, ``tzinfo=datetime.UTC`` — at a third of its cost: asyncpg builds each one from a
    ``timedelta`` (~1.6 µs); ``fromisoformat`` is C (~0.3 µs), and a page holds three per
    entry.  ``±infinity`` is the last/first instant, aware: asyncpg writes those two instants
    (the ends of :mod:`daybook_common.instants`' range, which clients may send) as
    ``±infinity`` and reads them back as naive ``datetime.max``/``datetime.min``, which a
    response would show without an offset.  (``tests/test_read_pool.py`` compares the codecs.)
    """
    try:
        return _from_iso(text)
    except ValueError:  # only the infinities fail: PostgreSQL's range is within Python's
        if text == "infinity":
            return MAX_INSTANT
        if text == "-infinity":
            return MIN_INSTANT
        raise


def _encode_timestamptz(value: datetime.date) -> str:
    """A parameter, read as asyncpg's binary codec reads it (naive datetimes and dates are local time)."""
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day).astimezone()
    if value == _INFINITY:
        return "infinity"
    if value == _NEGATIVE_INFINITY:
        return "-infinity"
    instant = value.astimezone(_UTC)
    # asyncpg also sends the first and last representable instants as -infinity/infinity.
    if instant.replace(tzinfo=None) == _INFINITY:
        return "infinity"
    if instant.replace(tzinfo=None) == _NEGATIVE_INFINITY:
        return "-infinity"
    return instant.isoformat()


def _begin_bound_to(user_id: uuid.UUID, request_id: str) -> str:
    """``BEGIN`` and the transaction's ``app.user_id``/``app.request_id`` as one script of literals."""
    if request_id and not is_valid_request_id(request_id.encode()):
        raise ValueError(f"not a request id: {request_id!r}")
    return (
        f"BEGIN; SELECT set_config('app.user_id', '{uuid.UUID(str(user_id))}', true), "
        f"set_config('app.request_id', '{request_id}', true)"
    )


class ReadPool:
    """The connections behind the one-statement list reads (separate from the ORM's pool).

    A list request checks a connection out, runs its one statement and puts it back.
    asyncpg's ``Pool.acquire``/``release`` costs ~70 µs of CPU for that (a proxy object,
    a shielded release task, timeout and inactivity-timer bookkeeping) — a third of what
    the statement itself costs the client — so these connections sit in a plain LIFO
    list instead: up to ``pool_size`` of them, opened on demand and kept; callers beyond
    that wait in order.  A connection that fails other than with a PostgreSQL error
    (closed, cancelled mid-statement, protocol trouble) is closed, not reused; its place
    is free at once.

    The entry create path borrows them too, for one short transaction (:meth:`transaction`).

    :attr:`pool` is an ordinary asyncpg pool (opened lazily, same settings) for the
    occasional other user: the in-app retention job, benchmarks.
    """

    def __init__(self, database: DatabaseSettings, application_name: str) -> None:
        self.database = database
        self.application_name = application_name
        self.pool: asyncpg.Pool | None = None
        self._max = max(1, database.pool_size)
        self._size = 0
        self._idle: deque[asyncpg.Connection] = deque()
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closing: set[asyncio.Task[None]] = set()
        self._open = False

    def _server_settings(self) -> dict[str, str]:
        db = self.database
        return {
            "search_path": db.schema,
            "application_name": self.application_name,
            "statement_timeout": str(db.statement_timeout_ms),
            "plan_cache_mode": "force_generic_plan",
        }

    @property
    def _cache_size(self) -> int:
        """Through a transaction pooler a prepared statement does not outlive its transaction:
        no statement cache there (the generic plans then do not apply either); asyncpg's default else."""
        return 0 if self.database.pooled else 100

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(
            plain_url(self.database.url),
            min_size=0,
            max_size=self._max,
            max_inactive_connection_lifetime=300,
            reset=_no_reset,
            server_settings=self._server_settings(),
            statement_cache_size=self._cache_size,
            **client_timeouts(self.database),
        )
        self._open = True

    async def stop(self) -> None:
        self._open = False
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the read pool is stopped"))
        idle, self._idle = list(self._idle), deque()
        self._size -= len(idle)
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)
        if self._closing:
            await asyncio.wait(self._closing, timeout=10)
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def fetch(self, query: CompiledQuery, values: Mapping[str, Any]) -> Sequence[asyncpg.Record]:
        connection = self._idle.pop() if self._idle else await self._checkout()
        try:
            rows: list[asyncpg.Record] = await connection.fetch(query.sql, *query.args(values))
        except asyncpg.PostgresError:  # the server refused the statement; the connection is fine
            self._checkin(connection)
            raise
        except asyncio.CancelledError:  # asyncpg is cancelling the statement on the server: let it finish
            self._retire(connection)
            raise
        except BaseException:
            self._drop(connection)
            raise
        self._checkin(connection)
        return rows

    @contextlib.asynccontextmanager
    async def transaction(self, user_id: uuid.UUID) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a transaction bound to ``user_id`` for row-level security and named for
        the audit trail (``app.user_id`` and ``app.request_id`` set LOCAL, as the ORM's ``user_db``
        does), committed when the block ends and rolled back if it raises.

        ``BEGIN`` and the binding go in one simple-protocol message (one round trip), so the
        values are literals: a UUID, and the request id the middleware admitted (checked again
        here).  The connection goes back to the pool once the transaction is over; one whose
        state is unknown (cancelled, cut off, a failed ``BEGIN``/``ROLLBACK``) is not reused.
        """
        begin = _begin_bound_to(user_id, request_id_var.get() or "")
        connection = self._idle.pop() if self._idle else await self._checkout()
        ended = False  # the transaction is over: the connection may be reused
        try:
            await connection.execute(begin)
            try:
                yield connection
            except asyncio.CancelledError:
                raise
            except BaseException:
                await connection.execute("ROLLBACK")
                ended = True
                raise
            try:
                await connection.execute("COMMIT")
            except asyncpg.PostgresError:  # the server ended the transaction (rolled back)
                ended = True
                raise
            ended = True
        except asyncio.CancelledError:
            self._retire(connection)
            raise
        except BaseException:
            if ended:
                self._checkin(connection)
            else:
                self._drop(connection)
            raise
        self._checkin(connection)

    async def _checkout(self) -> asyncpg.Connection:
        while True:
            if not self._open:
                raise RuntimeError("the read pool is not started")
            if self._idle:
                return self._idle.pop()
            if self._size < self._max:
                self._size += 1
                try:
                    return await self._connect()
                except BaseException:
                    self._size -= 1
                    self._wake()
                    raise
            waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                connection = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():  # handed over just as we were cancelled
                    handed = waiter.result()
                    if handed is not None:
                        self._checkin(handed)
                    else:
                        self._wake()
                raise
            if connection is not None:
                return connection
            # None: a slot came free (a connection was dropped); go round and open one.

    async def _connect(self) -> asyncpg.Connection:
        connection: asyncpg.Connection = await asyncpg.connect(
            plain_url(self.database.url),
            server_settings={**self._server_settings(), "TimeZone": "UTC", "DateStyle": "ISO"},
            statement_cache_size=self._cache_size,
            **client_timeouts(self.database),
        )
        try:
            await connection.set_type_codec(
                "timestamptz",
                schema="pg_catalog",
                encoder=_encode_timestamptz,
                decoder=_decode_timestamptz,
                format="text",
            )
        except BaseException:
            connection.terminate()
            raise
        return connection

    def _checkin(self, connection: asyncpg.Connection) -> None:
        if not self._open or connection.is_closed():
            self._drop(connection)
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        self._idle.append(connection)

    def _drop(self, connection: asyncpg.Connection) -> None:
        self._size -= 1
        connection.terminate()
        self._wake()

    def _retire(self, connection: asyncpg.Connection) -> None:
        """Give up a connection whose statement was cancelled: closed gracefully in the background
        (``close`` waits for asyncpg's cancel request, so the server stops the statement too)."""
        self._size -= 1
        self._wake()
        task = asyncio.get_running_loop().create_task(self._close(connection))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(connection: asyncpg.Connection) -> None:
        try:
            await connection.close(timeout=10)
        except asyncio.CancelledError:
            connection.terminate()
            raise
        except Exception:  # nothing more to do than cut it off
            connection.terminate()

    def _wake(self) -> None:
        """Tell the first waiter a slot is free (it opens a connection itself)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


@dataclass(slots=True)
class UserReads:
    """The caller's read handle for list endpoints."""

    pool: ReadPool
    user_id: uuid.UUID

    async def fetch(self, query: CompiledQuery, **values: Any) -> Sequence[asyncpg.Record]:
        return await self.pool.fetch(query, {"uid": str(self.user_id), **values})
