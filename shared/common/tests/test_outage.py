"""Which errors mean "the database is unavailable", and one log line per outage."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from daybook_common.outage import OutageLog, database_unavailable, log_timeout, statement_timed_out


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


def _timed_out_chain() -> BaseException:
    """As advanced-alchemy raises it: its IntegrityError from SQLAlchemy's from asyncpg's."""
    from advanced_alchemy.exceptions import IntegrityError as RepositoryIntegrityError

    wrapped = _wrapped(asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"))
    try:
        raise RepositoryIntegrityError(detail="An integrity error occurred") from wrapped
    except RepositoryIntegrityError as exc:
        return exc


@pytest.mark.parametrize(
    "exc",
    [
        _wrapped(asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout")),
        _wrapped(asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout")),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        _timed_out_chain(),
    ],
)
def test_statement_timeout_is_not_an_outage(exc: BaseException) -> None:
    assert not database_unavailable(exc)
    error = statement_timed_out(exc)
    assert error is not None and error.sqlstate in {"57014", "55P03"}


@pytest.mark.parametrize(
    "exc",
    [
        _wrapped(
            asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")
        ),
        _wrapped(asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")),
        TimeoutError(),  # asyncpg's client-side command_timeout: the server did not answer at all
        IntegrityError("INSERT", {}, asyncpg.exceptions.UniqueViolationError("duplicate key")),
    ],
)
def test_not_timed_out(exc: BaseException) -> None:
    assert statement_timed_out(exc) is None


def test_timeout_log_line_names_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="daybook.outage")
    error = asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout")
    log_timeout(error, "DELETE /x")
    (record,) = caplog.records
    assert record.getMessage().startswith("statement timed out on DELETE /x (")
    assert "SQLSTATE 57014" in record.getMessage()
