"""Users whose access tokens a service refuses: erased (and, later, deactivated) accounts.

Each service that verifies tokens keeps the list in a ``denied_users`` table of its own
schema, written by its durable ``users.user.deleted`` consumer (which survives restarts of
the service and of NATS: it resumes from the stream).  So the list is persisted, not
rebuilt from a replay window, and two walls use it:

- **Token check** (:class:`DeniedUsers`): each process keeps the ids in memory — loaded at
  start, kept current by ``LISTEN``/``NOTIFY`` on :func:`notify_channel`, and reloaded
  after a lost connection and every few minutes — so a verified token costs one set lookup.
- **Write check** (the ``refuse_denied_user`` trigger, see :func:`guard_sql`): an insert of
  a denied user's row fails with SQLSTATE :data:`DENIED_SQLSTATE` (answered 401).  Writers
  hold a shared transaction-level advisory lock from that check to their commit;
  :func:`deny_user` takes the same lock exclusively before committing, so a write that
  passed the check before the deny is committed first and the erasure that follows deletes
  it, and every later one sees the deny.  Nothing a late request writes survives.

**Revoked sessions** ride along: a user who revokes one of their sessions (a refresh-token
family, the ``sid`` claim of its access tokens) gets it into ``denied_sessions`` — by the
users service itself and by each other service's ``users.session.revoked`` consumer
(:func:`deny_session`) — and :class:`DeniedUsers` keeps the ids whose tokens may still be
alive (``expires_at`` in the future) in the same memory, by the same ``NOTIFY``.  A schema
without the table simply has no denied sessions.

Deactivation uses the same path: ``deny_user(..., reason="deactivated")`` and
:func:`allow_user` when the account is activated again (an erasure is never undone).  Its two
events must reach a service in the order they happened: one durable consumer for both (e.g. on
``users.user.>``, whose messages arrive in stream order), or a version in the payload, as the
task events have; two consumers, one per subject, could apply an activation before the
deactivation it lifts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from asyncpg.pool import PoolConnectionProxy

from daybook_common.db import plain_url

logger = logging.getLogger("daybook.denylist")

Reason = Literal["deleted", "deactivated"]
REASONS: tuple[Reason, ...] = ("deleted", "deactivated")
#: What the write guard raises (a custom SQLSTATE: "daybook, 401").
DENIED_SQLSTATE = "DB401"
#: First key of the advisory lock writers share and :func:`deny_user` takes exclusively.
ADVISORY_LOCK_CLASS = 0x0DE1


def denied_users_table(metadata: sa.MetaData) -> sa.Table:
    """The ``denied_users`` table a token-verifying service keeps in its own schema."""
    return sa.Table(
        "denied_users",
        metadata,
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("denied_at", DateTimeUTC(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("reason IN ('deleted', 'deactivated')", name="reason_known"),
    )


def denied_sessions_table(metadata: sa.MetaData) -> sa.Table:
    """Revoked sessions (``sid`` claims) whose access tokens are refused until ``expires_at``."""
    return sa.Table(
        "denied_sessions",
        metadata,
        sa.Column("session_id", sa.Uuid, primary_key=True),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("denied_at", DateTimeUTC(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Index("ix_denied_sessions_expires_at", "expires_at"),
    )


def notify_channel(schema: str) -> str:
    return f"{schema}_denied_users"


def lock_key(schema: str) -> str:
    """SQL for the advisory lock's second key: one lock per schema."""
    return f"hashtext('{schema}.denied_users')"


def guard_sql(schema: str) -> str:
    """``CREATE FUNCTION {schema}.refuse_denied_user()`` for statement-level ``AFTER INSERT`` triggers.

    The migrations that add the guard inline their own copy of this text (a migration must
    not change when this module does); this is the reference they are checked against.
    """
    return f"""
CREATE OR REPLACE FUNCTION {schema}.refuse_denied_user() RETURNS trigger
LANGUAGE plpgsql AS $guard$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({ADVISORY_LOCK_CLASS}, {lock_key(schema)});
    IF EXISTS (
        SELECT 1 FROM inserted AS i JOIN {schema}.denied_users AS d ON d.user_id = i.user_id
    ) THEN
        RAISE EXCEPTION 'rows of a denied user' USING ERRCODE = '{DENIED_SQLSTATE}';
    END IF;
    RETURN NULL;
END
$guard$
"""


async def deny_user(
    conn: asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool,
    schema: str,
    user_id: uuid.UUID,
    reason: Reason,
) -> None:
    """Record ``user_id`` as denied and tell every process of the service, in one transaction.

    Waits (exclusive advisory lock) for writes in flight that passed the guard before, so
    once this returns, anything such a write stored is visible to an erasure.  Idempotent;
    an erasure is never downgraded to a deactivation.
    """
    if reason not in REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as borrowed:
            await deny_user(borrowed, schema, user_id, reason)
            return
    async with conn.transaction():
        await conn.execute(
            f"INSERT INTO {schema}.denied_users (user_id, reason) VALUES ($1, $2) "
            "ON CONFLICT (user_id) DO UPDATE SET reason = 'deleted' WHERE EXCLUDED.reason = 'deleted'",
            user_id,
            reason,
        )
        await conn.execute(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_CLASS}, {lock_key(schema)})")
        await conn.execute("SELECT pg_notify($1, $2)", notify_channel(schema), f"deny {user_id}")


async def allow_user(
    conn: asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool, schema: str, user_id: uuid.UUID
) -> bool:
    """Lift a deactivation (an erased account stays denied). True if there was one."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as borrowed:
            return await allow_user(borrowed, schema, user_id)
    async with conn.transaction():
        status: str = await conn.execute(
            f"DELETE FROM {schema}.denied_users WHERE user_id = $1 AND reason = 'deactivated'", user_id
        )
        lifted = status.endswith(" 1")
        if lifted:
            await conn.execute("SELECT pg_notify($1, $2)", notify_channel(schema), f"allow {user_id}")
    return lifted


async def deny_session(
    conn: asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool,
    schema: str,
    session_id: uuid.UUID,
    expires_at: datetime.datetime,
) -> None:
    """Refuse the access tokens of ``session_id`` until ``expires_at``; tells every process. Idempotent."""
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as borrowed:
            await deny_session(borrowed, schema, session_id, expires_at)
            return
    async with conn.transaction():
        await conn.execute(
            f"INSERT INTO {schema}.denied_sessions (session_id, expires_at) VALUES ($1, $2) "
            "ON CONFLICT (session_id) DO UPDATE SET expires_at = GREATEST("
            f"{schema}.denied_sessions.expires_at, EXCLUDED.expires_at)",
            session_id,
            expires_at,
        )
        await conn.execute("SELECT pg_notify($1, $2)", notify_channel(schema), f"session {session_id}")


def session_revoked_handler(
    schema: str,
) -> Callable[[asyncpg.Pool, dict[str, Any]], Awaitable[None]]:
    """The ``users.session.revoked`` consumer of a token-verifying service: deny that session here."""

    async def on_session_revoked(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
        expires_at = datetime.datetime.fromisoformat(str(payload["expires_at"]))
        await deny_session(pool, schema, uuid.UUID(str(payload["session_id"])), expires_at)

    return on_session_revoked


def user_access_handler(
    schema: str,
) -> Callable[[asyncpg.Pool, dict[str, Any]], Awaitable[None]]:
    """The ``users.user.access`` consumer of a token-verifying service: a deactivated account's
    tokens and writes are refused here until it is activated again (an erased one stays refused)."""

    async def on_user_access(pool: asyncpg.Pool, payload: dict[str, Any]) -> None:
        user_id = uuid.UUID(str(payload["user_id"]))
        if payload.get("active") is True:
            await allow_user(pool, schema, user_id)
        else:
            await deny_user(pool, schema, user_id, "deactivated")

    return on_user_access


async def lock_for_write(conn: asyncpg.Connection | PoolConnectionProxy, schema: str) -> None:
    """In the caller's transaction: the guard's shared lock, for writers the trigger does not cover."""
    await conn.execute(f"SELECT pg_advisory_xact_lock_shared({ADVISORY_LOCK_CLASS}, {lock_key(schema)})")


def is_denied_write(exc: BaseException) -> bool:
    """Whether a database error is the write guard refusing a denied user's rows."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) == DENIED_SQLSTATE:
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


@dataclass
class DeniedUsers:
    """One process's in-memory copy of its schema's ``denied_users``, kept current."""

    database_url: str
    schema: str
    reload_seconds: float = 300.0
    first_load_timeout: float = 10.0
    #: Only denies this recent are kept in memory: no token of an account outlives its deny by
    #: more than a token's lifetime (15 min by default), since a denied account gets no new
    #: tokens.  Keeps the list small however many accounts were ever erased (the write guard
    #: still reads the whole table).
    window_seconds: float = 24 * 3600.0
    _ids: set[uuid.UUID] = field(default_factory=set, init=False)
    _sessions: set[str] = field(default_factory=set, init=False)
    #: Called with each newly denied user id (a NOTIFY, or found by a reload): what a process
    #: holds open for that user (a live stream) can be closed at once, not at its next check.
    _on_deny: list[Callable[[uuid.UUID], None]] = field(default_factory=list, init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    loaded: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    #: Set once the first load succeeded or failed: a start with the database down does not hang.
    _tried: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def is_revoked(self, user_id: uuid.UUID, issued_at: int) -> bool:
        return user_id in self._ids

    def is_session_revoked(self, session_id: str) -> bool:
        """Whether the session of a token's ``sid`` claim was revoked (its tokens may still live)."""
        return session_id in self._sessions

    def on_deny(self, callback: Callable[[uuid.UUID], None]) -> None:
        """Call ``callback(user_id)`` whenever a user is newly denied (it must not block)."""
        self._on_deny.append(callback)

    def _denied(self, user_id: uuid.UUID) -> None:
        for callback in self._on_deny:
            try:
                callback(user_id)
            except Exception:
                logger.exception("a deny callback failed")

    async def start(self) -> None:
        """Start following; wait (bounded) for the first load so a new process refuses at once."""
        self._task = asyncio.create_task(self.run(), name=f"denied-users-{self.schema}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._tried.wait(), self.first_load_timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _on_notify(
        self, connection: asyncpg.Connection | PoolConnectionProxy, pid: int, channel: str, payload: object
    ) -> None:
        if not isinstance(payload, str):  # asyncpg declares it object; a NOTIFY payload is text
            return
        action, _, raw = payload.partition(" ")
        with contextlib.suppress(ValueError):
            user_id = uuid.UUID(raw)
            if action == "deny":
                if user_id not in self._ids:
                    self._ids.add(user_id)
                    self._denied(user_id)
            elif action == "session":
                self._sessions.add(str(user_id))
            elif action == "allow":
                self._ids.discard(user_id)

    async def _reload(self, conn: asyncpg.Connection) -> None:
        rows = await conn.fetch(
            f"SELECT user_id FROM {self.schema}.denied_users "
            "WHERE denied_at > now() - make_interval(secs => $1)",
            self.window_seconds,
        )
        before, self._ids = self._ids, {row["user_id"] for row in rows}
        for user_id in self._ids - before:  # a NOTIFY missed while reconnecting
            self._denied(user_id)
        if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{self.schema}.denied_sessions"):
            sessions = await conn.fetch(
                f"SELECT session_id FROM {self.schema}.denied_sessions WHERE expires_at > now()"
            )
            self._sessions = {str(row["session_id"]) for row in sessions}
        self.loaded.set()
        self._tried.set()

    async def run(self) -> None:
        backoff = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(plain_url(self.database_url), timeout=5)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn, lost=lost: lost.set())
                # Listen first, then load: a deny committed in between is in one or the other.
                await conn.add_listener(notify_channel(self.schema), self._on_notify)
                await self._reload(conn)
                backoff = 0.5
                while True:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), self.reload_seconds)
                    if lost.is_set():
                        raise ConnectionError("listening connection lost")
                    await self._reload(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._tried.set()
                logger.warning(
                    "denied-users list paused: %s; retrying in %.1fs", exc.__class__.__name__, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
