"""Reminders tables, all in the `reminders` schema."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from daybook_common.models import AuditedModel, service_registry
from daybook_reminders import SCHEMA

_registry = service_registry(SCHEMA)


class Base(AuditedModel, DeclarativeBase):
    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata


__all__ = ["Base"]
