"""Small SQL building blocks shared by the aggregates (Core, no ORM unit of work on hot paths)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import TypeEngine
from uuid_utils.compat import uuid7

from daybook_journal.db import models as m

entries = cast(sa.Table, m.JournalEntry.__table__)
tags = cast(sa.Table, m.Tag.__table__)
tasks = cast(sa.Table, m.Task.__table__)
entry_tags = m.journal_entry_tags
task_tags = m.task_tags


def new_id() -> uuid.UUID:
    """A UUIDv7 made in the app (time-ordered, index-friendly)."""
    return uuid7()


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def uuid_array(ids: Sequence[uuid.UUID]) -> sa.BindParameter[Any]:
    """One bind parameter holding a ``uuid[]`` (one statement shape whatever the length)."""
    return sa.bindparam(None, list(ids), type_=ARRAY(sa.Uuid))


def any_of(column: sa.ColumnElement[uuid.UUID], ids: Sequence[uuid.UUID]) -> sa.ColumnElement[bool]:
    return column == sa.any_(uuid_array(ids))


def param(
    name: str, like: sa.ColumnElement[Any] | TypeEngine[Any] | type[TypeEngine[Any]]
) -> sa.BindParameter[Any]:
    """A named bind parameter typed like a column (or a type)."""
    type_ = like.type if hasattr(like, "type") else like
    return sa.bindparam(name, type_=type_)


def matches_words(
    title: sa.ColumnElement[Any], body: sa.ColumnElement[Any], q: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    """Every word of ``q`` starts a word of ``title`` or ``body``, ignoring case and accents.

    ``journal.search_vector(title, body) @@ journal.search_query(q)``: the functions of migration
    ``journal_0006``, whose GIN expression indexes are over this very ``search_vector`` call.
    """
    words = sa.func.journal.search_vector(title, body)
    return words.bool_op("@@")(sa.func.journal.search_query(q))


def dedupe(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))
