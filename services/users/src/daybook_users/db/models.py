"""Users tables, all in the `users` schema.

- ``users``: accounts. The email is stored in its normalised form (trimmed, lower-case) and is
  unique among live accounts only (a partial unique index), so a deleted account's address can
  register again.
- ``refresh_tokens``: one row per issued refresh token — only its SHA-256, never the token —
  grouped in families (one family per login) for rotation and reuse detection.
- ``login_throttles``: failed-login counters per email and per client address, kept in the
  database so the limit holds across processes and gateways.
- ``idempotency_keys``: the first ``201`` of a register sent with ``Idempotency-Key``, replayed
  to retries for 24 h. Never the password: only a hash of the normalised email and name.
- ``outbox``: events written in the same transaction as the change (``users.user.deleted``,
  ``users.session.revoked``).
- ``account_tokens``: single-use password-reset and email-verification tokens (their SHA-256 only).
- ``mail_outbox``: emails queued in the transaction of their cause, sent by the mail worker.
- ``security_events``: the account's security activity (sign-ins, resets, revoked sessions …).
- ``denied_sessions``: revoked sessions whose access tokens are refused until they expire.
"""

from __future__ import annotations

import datetime
import uuid
from typing import get_args

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daybook_common.audit import audit_table
from daybook_common.denylist import denied_sessions_table
from daybook_common.events import inbox_table, outbox_table
from daybook_common.idempotency import idempotency_table
from daybook_common.models import AuditedModel, SoftDeleteMixin, service_registry
from daybook_users import SCHEMA
from daybook_users.activity.schemas import ActivityKind

_registry = service_registry(SCHEMA)


class Base(AuditedModel, DeclarativeBase):
    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata


EMAIL_MAX_LENGTH = 320
FULL_NAME_MAX_LENGTH = 200
AVATAR_URL_MAX_LENGTH = 2048
USER_AGENT_MAX_LENGTH = 512
TOKEN_HASH_BYTES = 32


class User(SoftDeleteMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Unique among live accounts on the normalised form (the app stores it normalised and a
        # CHECK keeps it so); a soft-deleted account no longer holds its address.
        sa.Index("uq_users_email_live", "email", unique=True, postgresql_where=sa.text("deleted_at IS NULL")),
        sa.UniqueConstraint("google_id", name="uq_users_google_id"),
        sa.CheckConstraint("email = lower(btrim(email))", name="email_normalised"),
        sa.CheckConstraint(
            f"char_length(email) BETWEEN 3 AND {EMAIL_MAX_LENGTH} AND position('@' in email) > 1",
            name="email_shape",
        ),
        sa.CheckConstraint(
            f"full_name IS NULL OR char_length(full_name) <= {FULL_NAME_MAX_LENGTH}", name="full_name_length"
        ),
        sa.CheckConstraint(
            f"avatar_url IS NULL OR (char_length(avatar_url) <= {AVATAR_URL_MAX_LENGTH}"
            " AND avatar_url ~ '^https?://')",
            name="avatar_url_shape",
        ),
        sa.CheckConstraint("hashed_password IS NOT NULL OR google_id IS NOT NULL", name="has_credential"),
        sa.CheckConstraint("deleted_at IS NULL OR NOT is_active", name="deleted_is_inactive"),
    )

    email: Mapped[str] = mapped_column(sa.Text, nullable=False)
    hashed_password: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    full_name: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    avatar_url: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    google_id: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    is_active: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.text("true")
    )
    is_superuser: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.text("false")
    )
    #: Grows on every change of the account; its ETag and If-Match guard (users_0006).
    version: Mapped[int] = mapped_column(
        sa.BigInteger, nullable=False, default=1, server_default=sa.text("1")
    )
    #: When the owner proved the address is theirs (users_0007); unverified accounts work too.
    email_verified_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True, default=None
    )


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __table_args__ = (
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
        sa.Index("ix_refresh_tokens_user_id", "user_id"),
        sa.Index("ix_refresh_tokens_family_id", "family_id"),
        sa.Index("ix_refresh_tokens_parent_id", "parent_id"),
        sa.Index("ix_refresh_tokens_expires_at", "expires_at"),
        sa.CheckConstraint(f"octet_length(token_hash) = {TOKEN_HASH_BYTES}", name="token_hash_length"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_created"),
        sa.CheckConstraint(
            f"user_agent IS NULL OR char_length(user_agent) <= {USER_AGENT_MAX_LENGTH}",
            name="user_agent_length",
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.users.id", ondelete="CASCADE", name="fk_refresh_tokens_user_id_users"),
        nullable=False,
    )
    family_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey(
            "users.refresh_tokens.id", ondelete="SET NULL", name="fk_refresh_tokens_parent_id_refresh_tokens"
        ),
        nullable=True,
    )
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    ip_address: Mapped[str | None] = mapped_column(INET, nullable=True)


login_throttles = sa.Table(
    "login_throttles",
    Base.metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key_digest", sa.LargeBinary, primary_key=True),
    sa.Column("failures", sa.BigInteger, nullable=False),
    sa.Column("window_started_at", DateTimeUTC(timezone=True), nullable=False),
    sa.CheckConstraint("scope IN ('email', 'ip')", name="scope_known"),
    sa.CheckConstraint(f"octet_length(key_digest) = {TOKEN_HASH_BYTES}", name="key_digest_length"),
    sa.CheckConstraint("failures >= 1", name="failures_positive"),
    sa.Index("ix_login_throttles_window_started_at", "window_started_at"),
)
"""Failed logins per (scope, sha256(key)) in a fixed window that starts at the first failure."""

TOKEN_PURPOSES = ("password_reset", "email_verification")


class AccountToken(Base):
    """A single-use token mailed to the account's address: only its SHA-256 is stored.

    No foreign key to ``users`` (creating the table locks nothing else): the rows of an account
    are deleted with it (:meth:`AuthService.delete_account`).
    """

    __tablename__ = "account_tokens"
    __table_args__ = (
        sa.UniqueConstraint("token_hash", name="uq_account_tokens_token_hash"),
        sa.Index("ix_account_tokens_user_id", "user_id"),
        sa.Index("ix_account_tokens_expires_at", "expires_at"),
        sa.CheckConstraint(f"octet_length(token_hash) = {TOKEN_HASH_BYTES}", name="token_hash_length"),
        sa.CheckConstraint(
            "purpose IN (" + ", ".join(f"'{p}'" for p in TOKEN_PURPOSES) + ")", name="purpose_known"
        ),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_created"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    purpose: Mapped[str] = mapped_column(sa.Text, nullable=False)
    token_hash: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


MAIL_STATUSES = ("pending", "sent", "dead")


class MailMessage(Base):
    """An email queued in the transaction of its cause; the mail worker sends it.

    The bodies (which may carry a single-use link) are cleared once the message is sent; a dead
    message keeps them for an operator until retention removes it.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        sa.Index("ix_mail_outbox_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
        sa.Index("ix_mail_outbox_user_id", "user_id"),
        sa.Index("ix_mail_outbox_created_at", "created_at"),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{st}'" for st in MAIL_STATUSES) + ")", name="status_known"
        ),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)
    kind: Mapped[str] = mapped_column(sa.Text, nullable=False)
    recipient: Mapped[str] = mapped_column(sa.Text, nullable=False)
    subject: Mapped[str] = mapped_column(sa.Text, nullable=False)
    body_text: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    body_html: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    status: Mapped[str] = mapped_column(
        sa.Text, nullable=False, default="pending", server_default=sa.text("'pending'")
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default=sa.text("0"))
    next_attempt_at: Mapped[datetime.datetime] = mapped_column(
        DateTimeUTC(timezone=True), nullable=False, server_default=sa.func.now()
    )
    last_error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    sent_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)


#: The kinds the API names (one list: the CHECK below is built from the schema's Literal).
SECURITY_EVENT_KINDS: tuple[str, ...] = get_args(ActivityKind)


class SecurityEvent(Base):
    """One entry of an account's security activity (``created_at`` is when it happened)."""

    __tablename__ = "security_events"
    __table_args__ = (
        sa.Index("ix_security_events_user_id_id", "user_id", sa.text("id DESC")),
        sa.Index("ix_security_events_created_at", "created_at"),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(f"'{k}'" for k in SECURITY_EVENT_KINDS) + ")", name="kind_known"
        ),
        sa.CheckConstraint(
            f"user_agent IS NULL OR char_length(user_agent) <= {USER_AGENT_MAX_LENGTH}",
            name="user_agent_length",
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    kind: Mapped[str] = mapped_column(sa.Text, nullable=False)
    ip_address: Mapped[str | None] = mapped_column(INET, nullable=True)
    user_agent: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


denied_sessions = denied_sessions_table(Base.metadata)
"""Sessions revoked by their owner: their access tokens are refused here until they expire."""

idempotency_keys = idempotency_table(Base.metadata, per_user=False)
"""The first response of a register sent with ``Idempotency-Key`` (one key space for everyone:
register is unauthenticated; the account's id is recorded with the response)."""

outbox = outbox_table(Base.metadata)
inbox = inbox_table(Base.metadata)
#: The audit trail, written by triggers on ``users`` and ``refresh_tokens`` (see :mod:`daybook_common.audit`).
audit_log = audit_table(Base.metadata)

__all__ = [
    "AccountToken",
    "Base",
    "MailMessage",
    "RefreshToken",
    "SecurityEvent",
    "User",
    "audit_log",
    "denied_sessions",
    "idempotency_keys",
    "inbox",
    "login_throttles",
    "outbox",
]
