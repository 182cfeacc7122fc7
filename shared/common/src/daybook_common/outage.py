"""A database outage, as clients and the log see it.

While PostgreSQL is unreachable (restarting, failing over, out of connections) every
request that needs it fails the same way; answering each with a 500 and a traceback
buries the one fact that matters.  :func:`database_unavailable` recognises those errors
(through SQLAlchemy's and advanced-alchemy's wrappers), :func:`outage_response` answers
``503`` problem+json with ``Retry-After``, and :class:`OutageLog` writes one line when an
outage starts and one with its totals when the next one starts or the process stops,
instead of a traceback per request.  Recovery needs nothing from here: the pools open
new connections once the server answers again.

A statement the server cancelled because it ran out of time (``statement_timeout``,
``lock_timeout``: typically waiting on a row lock another transaction holds) is not an
outage: the server is up and the next request may well be served.  :func:`statement_timed_out`
recognises it, and :func:`timeout_response` answers ``503`` with ``Retry-After`` and a detail
that says so, with one log line per such request and no entry in :class:`OutageLog`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

RETRY_AFTER_SECONDS = 2
#: Failures closer together than this belong to the same outage.
OUTAGE_GAP_SECONDS = 10.0
DETAIL = "The database is unavailable; try again shortly"
TIMEOUT_DETAIL = "The request took too long: the database was busy; try again shortly"

logger = logging.getLogger("daybook.outage")

# A statement the server cancelled for time: 57014 query_canceled (statement_timeout, or a
# cancel request) and 55P03 lock_not_available (lock_timeout, NOWAIT).  57014 is a subclass of
# class 57 below, so these are looked at first.
_TIMED_OUT: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.LockNotAvailableError,
)
# asyncpg's classes for "there is no usable connection": SQLSTATE class 08 (connection
# exception), class 57 (operator intervention: admin/crash shutdown, cannot connect now),
# a connection closed under a query, the pool's own "closed" state, SQLAlchemy's pool
# timeout and the socket errors of a server that went away.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    PoolTimeout,
    ConnectionError,
    TimeoutError,
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps (SQLAlchemy's ``orig``, then ``__cause__``/``__context__``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        wrapped = getattr(current, "orig", None)
        if isinstance(wrapped, BaseException) and id(wrapped) not in seen:
            current = wrapped
            continue
        current = current.__cause__ or current.__context__


def _failure(exc: BaseException) -> str | None:
    """``"timeout"``, ``"unavailable"`` or None: the first of the chain's errors that is either."""
    for current in _chain(exc):
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return "unavailable"
        if isinstance(current, _TIMED_OUT):
            return "timeout"
        if isinstance(current, _UNAVAILABLE):
            return "unavailable"
        if isinstance(current, OSError) and current.errno is not None:  # refused, unreachable, reset
            return "unavailable"
    return None


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) means the database cannot be reached right now."""
    return _failure(exc) == "unavailable"


def statement_timed_out(exc: BaseException) -> asyncpg.PostgresError | None:
    """The server's error if ``exc`` (or what it wraps) is a statement cancelled for time."""
    if _failure(exc) != "timeout":
        return None
    return next(e for e in _chain(exc) if isinstance(e, asyncpg.PostgresError) and isinstance(e, _TIMED_OUT))


def log_timeout(error: asyncpg.PostgresError, where: str) -> None:
    """One line per request whose statement ran out of time; not an outage, so no :class:`OutageLog`."""
    message = getattr(error, "message", None) or error.__class__.__name__
    logger.warning(
        "statement timed out on %s (%s, SQLSTATE %s): answering 503",
        where,
        message,
        error.sqlstate,
        extra={"error": error.__class__.__name__, "sqlstate": error.sqlstate},
    )


class OutageLog:
    """One warning per outage (not per failed request), with the previous outage's totals."""

    def __init__(self, gap: float = OUTAGE_GAP_SECONDS) -> None:
        self.gap = gap
        self._lock = threading.Lock()
        self._started: float | None = None
        self._last = 0.0
        self._refused = 0

    def failed(self, exc: BaseException, where: str) -> None:
        now = time.monotonic()
        with self._lock:
            new_outage = self._started is None or now - self._last > self.gap
            if new_outage:
                self._close(until=self._last)
                self._started = now
                self._refused = 0
            self._last = now
            self._refused += 1
        if new_outage:
            logger.warning(
                "database unavailable (%s on %s): answering 503 until it is back",
                exc.__class__.__name__,
                where,
                extra={"error": exc.__class__.__name__},
            )

    def _close(self, until: float) -> None:
        if self._started is None:
            return
        logger.warning(
            "database outage over: %d requests answered 503 within %.1f s",
            self._refused,
            until - self._started,
            extra={"refused": self._refused, "seconds": round(until - self._started, 3)},
        )
        self._started = None

    def flush(self) -> None:
        with self._lock:
            self._close(until=self._last)


outage_log = OutageLog()


def outage_headers() -> dict[str, Any]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS)}
