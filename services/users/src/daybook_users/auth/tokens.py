"""Access tokens (ES256 JWTs) and refresh tokens (opaque, hashed, single use, in families).

A login starts a family. Every refresh spends the presented token and issues its child in the
same family. Presenting a spent token again means it leaked (or a client replayed it): the whole
family is revoked, so neither the thief nor the victim can continue without logging in again
(RFC 6819 §5.2.2.3, OAuth 2.0 Security BCP §4.14); the caller denies the family's access
tokens too (:meth:`daybook_users.sessions.services.SessionService.deny_access`).
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from daybook_common.auth import AuthSettings
from daybook_common.db import affected_rows
from daybook_common.models import utcnow
from daybook_users.auth.clients import ClientInfo
from daybook_users.auth.keys import SigningKeys
from daybook_users.db import models as m
from daybook_users.settings import TokenSettings

REFRESH_TOKEN_BYTES = 32  # 256 bits of randomness
REFRESH_TOKENS = cast(sa.Table, m.RefreshToken.__table__)
logger = logging.getLogger("daybook.users.tokens")


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class SpentToken:
    """The token a refresh just spent: its user and family continue in the new token."""

    id: uuid.UUID
    user_id: uuid.UUID
    family_id: uuid.UUID


class RefreshTokenInvalid(Exception):
    """Unknown, expired, revoked or already spent (the message never carries the token).

    ``reused``: the spent token presented again, whose family :meth:`TokenService.spend` revoked;
    the family's access tokens (its ``sid``) are the caller's to deny.
    """

    def __init__(self, reused: SpentToken | None = None) -> None:
        super().__init__()
        self.reused = reused


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class AccessTokenIssuer:
    keys: SigningKeys
    auth: AuthSettings
    ttl_seconds: int

    def issue(self, user_id: uuid.UUID, session_id: uuid.UUID | None = None) -> str:
        """``sid`` names the session (refresh-token family), so revoking it can deny this token."""
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self.auth.issuer,
            "aud": self.auth.audience,
            "sub": str(user_id),
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        return self.keys.sign(claims)


class TokenService:
    def __init__(self, session: AsyncSession, access: AccessTokenIssuer, settings: TokenSettings) -> None:
        self.session = session
        self.access = access
        self.settings = settings

    async def issue(
        self,
        user_id: uuid.UUID,
        client: ClientInfo,
        family_id: uuid.UUID | None = None,
        parent_id: uuid.UUID | None = None,
    ) -> IssuedTokens:
        refresh = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
        now = utcnow()
        family_id = family_id or uuid7()
        self.session.add(
            m.RefreshToken(
                id=uuid7(),
                user_id=user_id,
                family_id=family_id,
                parent_id=parent_id,
                token_hash=hash_refresh_token(refresh),
                created_at=now,
                updated_at=now,
                expires_at=now + datetime.timedelta(seconds=self.settings.refresh_ttl_seconds),
                user_agent=client.user_agent,
                ip_address=str(client.ip) if client.ip is not None else None,
            )
        )
        await self.session.flush()
        return IssuedTokens(
            access_token=self.access.issue(user_id, family_id),
            refresh_token=refresh,
            expires_in=self.access.ttl_seconds,
        )

    async def spend(self, token: str) -> SpentToken:
        """Mark a live token used (atomically: of two concurrent refreshes only one wins).

        Raises :class:`RefreshTokenInvalid`; when the token had already been spent, its whole
        family is revoked first (``reused`` names it) and the caller must commit that before answering.
        """
        digest = hash_refresh_token(token)
        rt = REFRESH_TOKENS
        now = utcnow()
        row = (
            await self.session.execute(
                sa.update(rt)
                .where(
                    rt.c.token_hash == digest,
                    rt.c.used_at.is_(None),
                    rt.c.revoked_at.is_(None),
                    rt.c.expires_at > now,
                )
                .values(used_at=now, updated_at=now)
                .returning(rt.c.id, rt.c.user_id, rt.c.family_id)
            )
        ).one_or_none()
        if row is not None:
            return SpentToken(id=row.id, user_id=row.user_id, family_id=row.family_id)
        known = (
            await self.session.execute(
                sa.select(rt.c.id, rt.c.user_id, rt.c.family_id, rt.c.used_at).where(
                    rt.c.token_hash == digest
                )
            )
        ).one_or_none()
        if known is not None and known.used_at is not None:
            revoked = await self.revoke_family(known.family_id)
            logger.warning(
                "refresh token reuse detected: family revoked",
                extra={"user_id": str(known.user_id), "family_id": str(known.family_id), "revoked": revoked},
            )
            raise RefreshTokenInvalid(
                SpentToken(id=known.id, user_id=known.user_id, family_id=known.family_id)
            )
        raise RefreshTokenInvalid

    async def family_of(self, token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        """The user and the family of a token this service issued (spent or not), else None."""
        rt = REFRESH_TOKENS
        row = (
            await self.session.execute(
                sa.select(rt.c.user_id, rt.c.family_id).where(rt.c.token_hash == hash_refresh_token(token))
            )
        ).one_or_none()
        return None if row is None else (row.user_id, row.family_id)

    async def revoke_family(self, family_id: uuid.UUID) -> int:
        rt = REFRESH_TOKENS
        now = utcnow()
        result = await self.session.execute(
            sa.update(rt)
            .where(rt.c.family_id == family_id, rt.c.revoked_at.is_(None))
            .values(revoked_at=now, updated_at=now)
        )
        return affected_rows(result)

    async def revoke_all(self, user_id: uuid.UUID) -> set[uuid.UUID]:
        """Revoke every refresh token of the user; returns the sessions (families) that could still
        refresh until now, whose access tokens may still be live."""
        rt = REFRESH_TOKENS
        now = utcnow()
        rows = await self.session.execute(
            sa.update(rt)
            .where(rt.c.user_id == user_id, rt.c.revoked_at.is_(None))
            .values(revoked_at=now, updated_at=now)
            .returning(rt.c.family_id, rt.c.expires_at)
        )
        return {row.family_id for row in rows if row.expires_at > now}
