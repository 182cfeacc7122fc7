"""Which errors mean "the database is unavailable", and one log line per outage."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from daybook_common.outage import OutageLog, database_unavailable


def _wrapped(orig: BaseException) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        _wrapped(ConnectionResetError(104, "reset")),
        _wrapped(
            asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")
        ),
        _wrapped(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")),
        _wrapped(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
    ],
)
def test_unavailable(exc: BaseException) -> None:
    assert database_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("INSERT", {}, asyncpg.exceptions.UniqueViolationError("duplicate key")),
        _wrapped(asyncpg.exceptions.UndefinedColumnError("column x does not exist")),
        ValueError("bad"),
        KeyError("x"),
    ],
)
def test_not_unavailable(exc: BaseException) -> None:
    assert not database_unavailable(exc)


def test_one_line_per_outage_and_its_totals(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="daybook.outage")
    log = OutageLog(gap=60)
    for _ in range(50):
        log.failed(ConnectionRefusedError(111, "refused"), "POST /x")
    log.flush()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert messages[0].startswith("database unavailable (ConnectionRefusedError on POST /x)")
    assert messages[1].startswith("database outage over: 50 requests answered 503")
    assert not any(r.exc_info for r in caplog.records)
