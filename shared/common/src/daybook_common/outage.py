"""A database outage, as clients and the log see it.

While PostgreSQL is unreachable (restarting, failing over, out of connections) every
request that needs it fails the same way; answering each with a 500 and a traceback
buries the one fact that matters.  :func:`database_unavailable` recognises those errors
(through SQLAlchemy's and advanced-alchemy's wrappers), :func:`outage_response` answers
``503`` problem+json with ``Retry-After``, and :class:`OutageLog` writes one line when an
outage starts and one with its totals when the next one starts or the process stops,
instead of a traceback per request.  Recovery needs nothing from here: the pools open
new connections once the server answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

RETRY_AFTER_SECONDS = 2
#: Failures closer together than this belong to the same outage.
OUTAGE_GAP_SECONDS = 10.0
DETAIL = "The database is unavailable; try again shortly"

logger = logging.getLogger("daybook.outage")

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


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) means the database cannot be reached right now."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _UNAVAILABLE):
            return True
        if isinstance(current, OSError) and current.errno is not None:  # refused, unreachable, reset
            return True
        wrapped = getattr(current, "orig", None)
        if isinstance(wrapped, BaseException) and id(wrapped) not in seen:
            current = wrapped
            continue
        current = current.__cause__ or current.__context__
    return False


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
