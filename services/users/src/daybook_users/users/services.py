"""Accounts: lookups of live users, profile changes, soft deletion with its event, admin pages."""

from __future__ import annotations

import uuid

import msgspec
import sqlalchemy as sa
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.errors import ExpectedVersion, Invalid, NotFound, check_version
from daybook_common.events import USER_ACCESS, USER_DELETED, add_event
from daybook_common.models import utcnow
from daybook_common.pagination import decode_cursor, page_of
from daybook_common.problems import validation_error
from daybook_users.db import models as m
from daybook_users.users import schemas as s


def normalize_email(raw: str) -> str:
    """Trimmed, syntax-checked, lower-case; raises a 422 naming ``email`` when it is not an address."""
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise validation_error("email", "not a valid email address") from None
    return info.normalized.lower()


def login_email(raw: str) -> str:
    """The form a login looks up: the registration form when valid, else just trimmed/lower-case."""
    try:
        return normalize_email(raw)
    except Invalid:
        return raw.strip().lower()


LIVE_EMAIL_INDEX = "uq_users_email_live"


class EmailTaken(Exception):
    """A live account already uses this email."""


class UserRepository(SQLAlchemyAsyncRepository[m.User]):
    model_type = m.User


class UserService(SQLAlchemyAsyncRepositoryService[m.User, UserRepository]):
    repository_type = UserRepository

    @property
    def session(self) -> AsyncSession:
        """The request's session (advanced-alchemy also accepts a scoped session; this service never gets one)."""
        session = self.repository.session
        if not isinstance(session, AsyncSession):
            raise TypeError(f"UserService needs an AsyncSession, got {type(session).__name__}")
        return session

    async def get_live(self, user_id: uuid.UUID, *, for_update: bool = False) -> m.User | None:
        if not for_update:
            return await self.repository.get_one_or_none(m.User.id == user_id, m.User.deleted_at.is_(None))
        # Lock the row and re-read it: the identity map may hold a copy loaded before the lock.
        return await self.repository.get_one_or_none(
            m.User.id == user_id,
            m.User.deleted_at.is_(None),
            with_for_update=True,
            execution_options={"populate_existing": True},
        )

    async def get_live_by_email(self, email: str) -> m.User | None:
        return await self.repository.get_one_or_none(m.User.email == email, m.User.deleted_at.is_(None))

    async def create_account(
        self, email: str, hashed_password: str, full_name: str | None, *, is_superuser: bool = False
    ) -> m.User:
        user = m.User(
            email=email, hashed_password=hashed_password, full_name=full_name, is_superuser=is_superuser
        )
        self.session.add(user)
        try:
            await self.session.flush()
        except sa.exc.IntegrityError as exc:
            if LIVE_EMAIL_INDEX in str(exc.orig):
                raise EmailTaken from None
            raise
        return user

    async def update_profile(
        self, user_id: uuid.UUID, data: s.UserUpdate, expected_version: ExpectedVersion = None
    ) -> m.User:
        """Apply a PATCH under a row lock, so two PATCHes with one ETag give one 200 and one 412."""
        user = await self.get_live(user_id, for_update=True)
        if user is None:  # deleted between the auth check and now
            raise NotFound()
        check_version(user.version, expected_version)
        changed = False
        if data.full_name is not msgspec.UNSET:
            full_name = (data.full_name.strip() if data.full_name is not None else None) or None
            changed |= full_name != user.full_name
            user.full_name = full_name
        if data.avatar_url is not msgspec.UNSET:
            changed |= data.avatar_url != user.avatar_url
            user.avatar_url = data.avatar_url
        if changed:
            user.updated_at = utcnow()
            user.version += 1
            await self.session.flush()
        return user

    async def set_password_hash(self, user: m.User, hashed_password: str) -> None:
        user.hashed_password = hashed_password
        user.updated_at = utcnow()
        user.version += 1
        await self.session.flush()

    async def mark_deleted(self, user: m.User) -> None:
        """Deleted and inactive at once, with ``users.user.deleted`` in the same transaction."""
        now = utcnow()
        user.deleted_at = now
        user.is_active = False
        user.updated_at = now
        user.version += 1
        await self.session.flush()
        await add_event(
            self.session,
            m.outbox,
            USER_DELETED,
            {"user_id": str(user.id), "deleted_at": now.isoformat()},
        )

    async def set_active(self, user: m.User, active: bool) -> bool:
        """Deactivate or activate the (locked) account, with ``users.user.access`` in the same
        transaction; False when it already was."""
        if user.is_active == active:
            return False
        user.is_active = active
        user.updated_at = utcnow()
        user.version += 1
        await self.session.flush()
        await add_event(
            self.session,
            m.outbox,
            USER_ACCESS,
            {"user_id": str(user.id), "active": active, "version": user.version},
        )
        return True

    async def live_page(self, limit: int, cursor: str | None) -> tuple[list[m.User], str | None]:
        """Live accounts in id order (UUIDv7: creation order), keyset-paginated over the primary key."""
        stmt = sa.select(m.User).where(m.User.deleted_at.is_(None)).order_by(m.User.id).limit(limit + 1)
        if cursor is not None:
            (after,) = decode_cursor(cursor, (uuid.UUID,))
            stmt = stmt.where(m.User.id > after)
        rows = list((await self.session.execute(stmt)).scalars())
        return page_of(rows, limit, key=lambda user: (str(user.id),))


def to_schema(user: m.User) -> s.User:
    """The API's view of an account: its public attributes, by name (never a hash or a token)."""
    return msgspec.convert(user, s.User, from_attributes=True)
