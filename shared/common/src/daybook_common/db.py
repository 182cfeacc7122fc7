"""Per-service database configuration.

Every service connects with its own login role, and its ``search_path`` is its own
schema; models are schema-qualified too, so a wrong search path cannot leak across.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from sqlalchemy import MetaData
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from daybook_common.logs import request_id_var
from daybook_common.settings import Env

if TYPE_CHECKING:
    from advanced_alchemy.config.asyncio import SQLAlchemyAsyncConfig


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    schema: str
    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout: float = 10.0
    statement_timeout_ms: int = 15_000
    connect_timeout: float = 3.0
    """``<P>_DB_CONNECT_TIMEOUT``: seconds for opening a connection (TCP, TLS and the startup
    exchange). asyncpg's own default is 60 s, so against a hung server (a stopped process, a
    dropped route) a request waited out the gateway's read timeout and got its ``504``."""
    command_timeout: float | None = None
    """``<P>_DB_COMMAND_TIMEOUT``: seconds a statement may wait for the server on the client side;
    unset: ``statement_timeout`` plus one second. The server enforces ``statement_timeout``
    itself, so this one only fires when the server does not answer at all: then the request gets
    the outage's ``503`` (a ``TimeoutError``) instead of hanging."""
    echo: bool = False
    direct_url: str | None = None
    """``<P>_DIRECT_DATABASE_URL``: given when ``url`` goes through a transaction pooler (PgBouncer).
    Then ``url`` runs without prepared statements surviving a transaction, and whatever needs a
    session of its own — ``LISTEN`` (outbox relay, deny-list, scheduler wake-ups), session advisory
    locks (retention), migrations, event consumers — connects here instead."""

    @property
    def pooled(self) -> bool:
        return self.direct_url is not None

    @property
    def client_command_timeout(self) -> float:
        if self.command_timeout is not None:
            return self.command_timeout
        return self.statement_timeout_ms / 1000 + 1.0

    @property
    def session_url(self) -> str:
        """Where a connection that keeps session state goes: the direct URL, else the one URL."""
        return self.direct_url or self.url

    @classmethod
    def from_env(cls, env: Env, schema: str, default_url: str) -> DatabaseSettings:
        direct = env.optional("DIRECT_DATABASE_URL")
        return cls(
            direct_url=async_url(direct) if direct else None,
            url=async_url(env.str("DATABASE_URL", default_url)),
            schema=schema,
            pool_size=env.int("DB_POOL_SIZE", 10),
            max_overflow=env.int("DB_MAX_OVERFLOW", 10),
            pool_timeout=env.float("DB_POOL_TIMEOUT", 10.0),
            statement_timeout_ms=env.int("DB_STATEMENT_TIMEOUT_MS", 15_000),
            connect_timeout=env.float("DB_CONNECT_TIMEOUT", 3.0),
            command_timeout=env.float("DB_COMMAND_TIMEOUT", 0.0) or None,
            echo=env.bool("DB_ECHO", False),
        )


def async_url(url: str) -> str:
    """Accept ``postgres://``/``postgresql://`` URLs and use the asyncpg driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def plain_url(url: str) -> str:
    """The same URL for asyncpg/libpq directly (``postgresql://``)."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


#: libpq's TLS parameters: asyncpg reads them in a DSN, SQLAlchemy's asyncpg dialect does not.
TLS_PARAMETERS = ("sslmode", "sslrootcert", "sslcert", "sslkey")
_VERIFYING = {"verify-ca", "verify-full"}


def split_tls(url: str) -> tuple[str, ssl.SSLContext | str | None]:
    """``url`` without libpq's TLS parameters, and asyncpg's ``ssl`` argument that means the same.

    SQLAlchemy's asyncpg dialect hands every query parameter to ``asyncpg.connect`` as a keyword,
    and ``sslmode`` is not one (``TypeError`` at the first connection), so engines take them
    here: ``sslmode=verify-full`` (certificate chain to ``sslrootcert`` — or to the system's
    CAs without one, as a managed PostgreSQL with a public certificate needs — and host name),
    ``verify-ca`` (chain only), ``require``/``prefer``/``allow``/``disable`` as libpq;
    ``sslcert``/``sslkey`` for a client certificate.
    """
    parsed = make_url(url)
    query = dict(parsed.query)
    given = {name: query.pop(name) for name in TLS_PARAMETERS if name in query}
    if not given:
        return url, None
    stripped = parsed.set(query=query).render_as_string(hide_password=False)
    values = {name: value if isinstance(value, str) else value[-1] for name, value in given.items()}
    mode = values.get("sslmode", "prefer")
    root, cert, key = values.get("sslrootcert"), values.get("sslcert"), values.get("sslkey")
    if mode not in _VERIFYING and cert is None:
        return stripped, mode
    if mode in _VERIFYING:
        context = ssl.create_default_context(cafile=root) if root else ssl.create_default_context()
        context.check_hostname = mode == "verify-full"
    else:  # encrypted, server not verified (libpq's require), with a client certificate
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        context.load_cert_chain(cert, key)
    return stripped, context


class ClientTimeouts(TypedDict):
    timeout: float
    command_timeout: float


def client_timeouts(db: DatabaseSettings) -> ClientTimeouts:
    """asyncpg's ``timeout`` (connect) and ``command_timeout`` for ``db``: the SQLAlchemy engine and
    every asyncpg pool of a service use these, so a hung server is the outage's 503, never a hang."""
    return {"timeout": db.connect_timeout, "command_timeout": db.client_command_timeout}


def connect_args(db: DatabaseSettings, application_name: str) -> dict[str, Any]:
    return {
        **client_timeouts(db),
        "server_settings": {
            "search_path": db.schema,
            "application_name": application_name,
            "statement_timeout": str(db.statement_timeout_ms),
        },
    }


def pooled_statement_names() -> str:
    """A fresh name per prepared statement: through a transaction pooler a name may not be reused
    on a server connection that another client's statement of the same name still occupies."""
    return f"__daybook_{uuid.uuid4().hex}__"


def create_engine(db: DatabaseSettings, application_name: str) -> AsyncEngine:
    url, tls = split_tls(db.url)
    args = connect_args(db, application_name)
    if tls is not None:
        args["ssl"] = tls
    if db.pooled:  # SQLAlchemy's and asyncpg's statement caches off (see DatabaseSettings.direct_url)
        args.update(
            prepared_statement_cache_size=0,
            prepared_statement_name_func=pooled_statement_names,
            statement_cache_size=0,
        )
    return create_async_engine(
        url,
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        pool_timeout=db.pool_timeout,
        pool_pre_ping=False,
        echo=db.echo,
        connect_args=args,
    )


#: The dependency name under which :class:`daybook_common.sessions.SessionPlugin` provides the
#: request's session; handlers ask for ``db_session``, which is :func:`provide_db_session` on top of it.
PLUGIN_SESSION_KEY = "plugin_db_session"


def alchemy_config(db: DatabaseSettings, metadata: MetaData, application_name: str) -> SQLAlchemyAsyncConfig:
    """advanced-alchemy's config of the service's engine and session maker (sessions keep their
    objects loaded after a commit); :class:`daybook_common.sessions.SessionPlugin` gives each
    request one session and one transaction of it.

    Its framework-free config, not the one of its Litestar extension: that package also imports
    Alembic, Mako, Pygments, rich and Litestar's CLI (~13 MiB a process), which no served process
    needs (imported here, not at module level: the gateway imports this module for :func:`plain_url`).
    """
    from advanced_alchemy.config.asyncio import AsyncSessionConfig, SQLAlchemyAsyncConfig

    return SQLAlchemyAsyncConfig(
        engine_instance=create_engine(db, application_name),
        metadata=metadata,
        create_all=False,
        session_config=AsyncSessionConfig(expire_on_commit=False),
    )


async def provide_db_session(plugin_db_session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """The request's session (``db_session``), committed once the handler has returned and before
    the response is sent.

    The session's ``before_send`` hook (:class:`daybook_common.sessions.SessionPlugin`, as
    advanced-alchemy's ``autocommit``) commits while the response is already on its way and only
    logs a commit that failed, so a write whose commit was cut off (the database restarting) would
    still be answered ``201``. Committed here, a failed commit is an exception like any other: the
    usual 503 (or 409 for a constraint checked at commit) and nothing acknowledged is lost. A
    handler that raised never gets here: the hook rolls it back.
    """
    yield plugin_db_session
    if plugin_db_session.in_transaction():
        await plugin_db_session.commit()


async def set_rls_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Bind this transaction to one user for row-level security (``SET LOCAL app.user_id``), and
    name the request for the audit trail (``app.request_id``, see :mod:`daybook_common.audit`)."""
    from sqlalchemy import text as _text

    await session.execute(
        _text("SELECT set_config('app.user_id', :uid, true), set_config('app.request_id', :rid, true)"),
        {"uid": str(user_id), "rid": request_id_var.get() or ""},
    )


def affected_rows(result: Result[*tuple[Any, ...]]) -> int:
    """Rows an UPDATE/DELETE run through ``Session.execute`` changed.

    ``Session.execute`` is typed to return a ``Result``; for DML it is a ``CursorResult``, the one
    that has ``rowcount``.
    """
    if not isinstance(result, CursorResult):
        raise TypeError(f"expected the CursorResult of a DML statement, got {type(result).__name__}")
    return result.rowcount
