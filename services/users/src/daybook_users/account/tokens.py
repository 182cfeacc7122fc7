"""Single-use tokens mailed to an account's address (reset, verification): 256 random bits,
stored only as their SHA-256, spent atomically (of two concurrent uses one wins)."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from daybook_common.errors import DomainError
from daybook_common.models import utcnow
from daybook_users.db import models as m

Purpose = Literal["password_reset", "email_verification"]
TOKEN_BYTES = 32
TOKEN_LENGTH = 43  # token_urlsafe(32)
TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
TOKENS = m.AccountToken


class InvalidAccountToken(DomainError):
    """Spent, expired, unknown or malformed: one answer for all (400)."""

    default_detail = "The link is invalid or has expired"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def well_formed(token: str) -> bool:
    return len(token) == TOKEN_LENGTH and set(token) <= TOKEN_ALPHABET


class AccountTokens:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def issue(self, user_id: uuid.UUID, purpose: Purpose, ttl: datetime.timedelta) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = utcnow()
        await self.session.execute(
            sa.insert(TOKENS).values(
                id=uuid7(),
                user_id=user_id,
                purpose=purpose,
                token_hash=_digest(token),
                expires_at=now + ttl,
                created_at=now,
                updated_at=now,
            )
        )
        return token

    async def issued_since(self, user_id: uuid.UUID, purpose: Purpose, since: datetime.datetime) -> int:
        count = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(TOKENS)
            .where(TOKENS.user_id == user_id, TOKENS.purpose == purpose, TOKENS.created_at >= since)
        )
        return int(count or 0)

    async def spend(self, token: str, purpose: Purpose) -> uuid.UUID:
        """The token's user, the token now used; else :class:`InvalidAccountToken`."""
        if not well_formed(token):
            raise InvalidAccountToken()
        now = utcnow()
        user_id = await self.session.scalar(
            sa.update(TOKENS)
            .where(
                TOKENS.token_hash == _digest(token),
                TOKENS.purpose == purpose,
                TOKENS.used_at.is_(None),
                TOKENS.expires_at > now,
            )
            .values(used_at=now, updated_at=now)
            .returning(TOKENS.user_id)
        )
        if not isinstance(user_id, uuid.UUID):
            raise InvalidAccountToken()
        return user_id

    async def spend_all(self, user_id: uuid.UUID, purpose: Purpose) -> None:
        """Every outstanding token of that purpose (a reset link mailed twice works once)."""
        now = utcnow()
        await self.session.execute(
            sa.update(TOKENS)
            .where(TOKENS.user_id == user_id, TOKENS.purpose == purpose, TOKENS.used_at.is_(None))
            .values(used_at=now, updated_at=now)
        )

    async def forget(self, user_id: uuid.UUID) -> None:
        await self.session.execute(sa.delete(TOKENS).where(TOKENS.user_id == user_id))
