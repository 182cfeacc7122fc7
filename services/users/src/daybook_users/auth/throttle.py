"""Login throttling in the database, so the limits hold across processes, workers and gateways.

Each (scope, key) — the normalised email, and the client address (an IPv6 client by its /64) —
counts failed logins in a fixed window that starts at its first failure. Once a key reaches its
limit, every login for it is refused with 429 until the window ends (``Retry-After`` says when),
whether or not the password is right. A successful login clears the email's counter, not the
address's (one valid account must not reset an attacker's address budget).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.clients import IPAddress
from daybook_common.metrics import LOGIN_FAILURES
from daybook_users.db.models import login_throttles as t
from daybook_users.settings import ThrottleSettings


@dataclass(frozen=True)
class ThrottleKey:
    scope: str
    digest: bytes
    limit: int


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def address_key(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


class LoginThrottle:
    def __init__(self, session: AsyncSession, settings: ThrottleSettings) -> None:
        self.session = session
        self.settings = settings

    def keys(self, email: str, address: IPAddress | None) -> list[ThrottleKey]:
        keys = [ThrottleKey("email", _digest(email), self.settings.max_failures_per_email)]
        if address is not None:
            keys.append(ThrottleKey("ip", _digest(address_key(address)), self.settings.max_failures_per_ip))
        return keys

    def _window_end(self) -> sa.ColumnElement[object]:
        return t.c.window_started_at + sa.func.make_interval(0, 0, 0, 0, 0, 0, self.settings.window_seconds)

    async def retry_after(self, keys: list[ThrottleKey]) -> int | None:
        """Seconds until the most restrictive blocked key opens again, or None when none is blocked."""
        remaining = sa.extract("epoch", self._window_end() - sa.func.now())
        stmt = sa.select(t.c.scope, t.c.key_digest, t.c.failures, remaining.label("remaining")).where(
            sa.tuple_(t.c.scope, t.c.key_digest).in_([(k.scope, k.digest) for k in keys]),
            self._window_end() > sa.func.now(),
        )
        limits = {(k.scope, k.digest): k.limit for k in keys}
        waits = [
            math.ceil(float(row.remaining))
            for row in (await self.session.execute(stmt)).all()
            if row.failures >= limits[(row.scope, row.key_digest)]
        ]
        return max(1, *waits) if waits else None

    async def record_failure(self, keys: list[ThrottleKey]) -> None:
        """Count one failure for every key (atomically: concurrent failures all count)."""
        LOGIN_FAILURES.labels("users").inc()
        for key in keys:
            stmt = insert(t).values(
                scope=key.scope, key_digest=key.digest, failures=1, window_started_at=sa.func.now()
            )
            expired = self._window_end() <= sa.func.now()
            stmt = stmt.on_conflict_do_update(
                index_elements=[t.c.scope, t.c.key_digest],
                set_={
                    "failures": sa.case((expired, 1), else_=t.c.failures + 1),
                    "window_started_at": sa.case((expired, sa.func.now()), else_=t.c.window_started_at),
                },
            )
            await self.session.execute(stmt)

    async def clear(self, key: ThrottleKey) -> None:
        await self.session.execute(sa.delete(t).where(t.c.scope == key.scope, t.c.key_digest == key.digest))
