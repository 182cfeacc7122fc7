"""Declarative bases shared by every service.

Each service gets its own registry and :class:`~sqlalchemy.MetaData` bound to its
own PostgreSQL schema, with advanced-alchemy's constraint naming convention, so
Alembic histories never see another service's tables.
"""

from __future__ import annotations

import datetime

from advanced_alchemy.base import CommonTableAttributes, create_registry
from advanced_alchemy.mixins import AuditColumns, UUIDv7PrimaryKey
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import Mapped, mapped_column, registry


def service_registry(schema: str) -> registry:
    """A registry whose metadata puts every table in ``schema``."""
    reg = create_registry()
    reg.metadata.schema = schema
    return reg


class AuditedModel(CommonTableAttributes, UUIDv7PrimaryKey, AuditColumns, AsyncAttrs):
    """UUIDv7 ``id`` made in the app, UTC ``created_at``/``updated_at``.

    Mix into a service's ``DeclarativeBase`` subclass (see ``daybook_journal.db.models``).
    """

    __abstract__ = True


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class SoftDeleteMixin:
    """``deleted_at`` set means the row is in the trash; normal queries see live rows only."""

    deleted_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTimeUTC(timezone=True), nullable=True, default=None
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self) -> None:
        self.deleted_at = utcnow()

    def restore(self) -> None:
        self.deleted_at = None
