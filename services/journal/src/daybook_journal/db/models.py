"""Journal tables, all in the `journal` schema.

Every user-owned table carries ``user_id`` (a plain UUID from a verified token, no
cross-schema foreign key) and is protected by row-level security (see migration
``journal_0002``).  Link tables carry ``user_id`` too, with composite foreign keys
``(x_id, user_id) → x(id, user_id)``, so the database itself refuses a link between
one user's entry and another user's tag.

Full-text search (``q``) is defined by SQL functions in the schema (migration
``journal_0006``): GIN expression indexes over ``search_vector(title, content)`` and
``search_vector(title, description)`` serve ``search_vector(…) @@ search_query(q)``, which
matches words by prefix, whatever their case and accents (:mod:`daybook_journal.db.queries`).
The generated ``search`` columns an earlier release searched were dropped by ``journal_0019``.

Indexes that lead with ``user_id`` are all partial (live rows / trash) and match the
list queries' ORDER BY.  There is deliberately no plain ``(user_id, …)`` index that a
list could use instead: with row-level security the planner underestimates a user's
row count (the policy's ``user_id`` test multiplies with the query's), and would then
happily pick such an index plus a sort over all of a user's rows.  Code that must
reach all of a user's rows (erasure) walks the live and the trashed parts separately.
"""

from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.dialects.postgresql import BYTEA, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from daybook_common.audit import audit_table
from daybook_common.denylist import denied_sessions_table, denied_users_table
from daybook_common.events import inbox_table, outbox_table
from daybook_common.idempotency import idempotency_table
from daybook_common.models import AuditedModel, SoftDeleteMixin, service_registry
from daybook_journal import SCHEMA

_registry = service_registry(SCHEMA)

TASK_STATUSES = ("todo", "in_progress", "done")
TASK_PRIORITIES = ("low", "medium", "high")


class Base(AuditedModel, DeclarativeBase):
    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata
    # advanced-alchemy's ORM bulk-insert sentinel column is not needed: ids are made in the app.
    # Assigning None is how SQLAlchemy drops an inherited column; mypy sees Mapped[int] replaced.
    _sentinel = None  # type: ignore[assignment]


def trash_index(table: str) -> sa.Index:
    """The trash page's index: a user's deleted rows, most recently deleted first."""
    return sa.Index(
        f"ix_{table}_user_id_deleted_at_id",
        "user_id",
        sa.text("deleted_at DESC"),
        sa.text("id DESC"),
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )


def search_index(table: str, body: str) -> sa.Index:
    """The full-text search's GIN index over ``search_vector(title, body)`` (see the module)."""
    return sa.Index(
        f"ix_{table}_search_words", sa.text(f"{SCHEMA}.search_vector(title, {body})"), postgresql_using="gin"
    )


#: The key names are unique by (per user or tree): ``journal.name_key(name)``, lower case by
#: Unicode rules and NFC whatever the database's collation (journal_0017), so "École", "école"
#: and the NFD spelling are one name; "Straße" and "STRASSE" are not (no full case folding).
NAME_KEY = sa.text(f"{SCHEMA}.name_key(name)")


def name_key(name: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """``journal.name_key(name)``: what the unique name indexes hold (also the lists' order)."""
    return sa.func.journal.name_key(name, type_=sa.Text)


class Versioned:
    """``version`` grows on every change; it is the resource's ETag and the If-Match guard."""

    version: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, server_default=sa.text("1"))


class JournalEntry(Base, SoftDeleteMixin, Versioned):
    __tablename__ = "journal_entries"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    title: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    content: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    entry_date: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    ciphertext: Mapped[bytes | None] = mapped_column(BYTEA, nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(BYTEA, nullable=True)
    iv: Mapped[bytes | None] = mapped_column(BYTEA, nullable=True)
    wrap_iv: Mapped[bytes | None] = mapped_column(BYTEA, nullable=True)
    secret_tag_id: Mapped[bytes | None] = mapped_column(BYTEA, nullable=True)
    #: The entry's tags as the API shows them (``[{id, name, color}]`` by ``lower(name), id``),
    #: a copy of what ``journal_entry_tags`` + ``tags`` say, kept by every write that changes
    #: either (``entries.tag_lists``), so the hot list reads no links (migration ``journal_0003``).
    tags: Mapped[list[dict[str, str]]] = mapped_column(
        JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")
    )

    __table_args__ = (
        sa.CheckConstraint("(content IS NULL) <> (ciphertext IS NULL)", name="content_xor_ciphertext"),
        sa.CheckConstraint(
            "(ciphertext IS NULL) = (wrapped_key IS NULL) AND (ciphertext IS NULL) = (iv IS NULL) "
            "AND (ciphertext IS NULL) = (wrap_iv IS NULL) AND (secret_tag_id IS NULL OR ciphertext IS NOT NULL)",
            name="encrypted_fields_together",
        ),
        sa.CheckConstraint("char_length(title) <= 200", name="title_length"),
        sa.CheckConstraint("char_length(content) <= 100000", name="content_length"),
        sa.CheckConstraint("octet_length(ciphertext) <= 262144", name="ciphertext_length"),
        # The target of the links' composite foreign keys (id first: see the module docstring).
        sa.UniqueConstraint("id", "user_id", name="uq_journal_entries_id_user_id"),
        # The list: newest entry_date first, live rows only.
        sa.Index(
            "ix_journal_entries_user_id_entry_date_id",
            "user_id",
            sa.text("entry_date DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        trash_index("journal_entries"),
        search_index("journal_entries", "content"),
    )


class Tag(Base, Versioned):
    __tablename__ = "tags"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    name: Mapped[str] = mapped_column(sa.Text, nullable=False)
    color: Mapped[str] = mapped_column(sa.Text, nullable=False)

    __table_args__ = (
        sa.CheckConstraint("color ~ '^#[0-9a-fA-F]{6}$'", name="color_format"),
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 50", name="name_length"),
        # The target of the links' composite foreign keys (id first: see the module docstring).
        sa.UniqueConstraint("id", "user_id", name="uq_tags_id_user_id"),
        sa.Index("uq_tags_user_id_name_key", "user_id", NAME_KEY, unique=True),
    )


def _ts_column(name: str) -> sa.Column[datetime.datetime]:
    return sa.Column(name, DateTimeUTC(timezone=True), nullable=False)


#: Earlier versions of entries, each saved by the change that replaced it (``entries.revisions``).
#: ``revision`` is the entry's version it was; ``saved_at`` when that version was written;
#: ``replaced_at`` when a change replaced it (kept ``JOURNAL_REVISION_RETENTION_DAYS`` after that).
entry_revisions = sa.Table(
    "entry_revisions",
    Base.metadata,
    sa.Column("entry_id", sa.Uuid, primary_key=True),
    sa.Column("revision", sa.BigInteger, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.Column("title", sa.Text, nullable=True),
    sa.Column("content", sa.Text, nullable=True),
    _ts_column("entry_date"),
    *(
        sa.Column(name, BYTEA, nullable=True)
        for name in ("ciphertext", "wrapped_key", "iv", "wrap_iv", "secret_tag_id")
    ),
    sa.Column("tags", JSONB, nullable=False),
    _ts_column("saved_at"),
    _ts_column("replaced_at"),
    sa.ForeignKeyConstraint(
        ["entry_id", "user_id"],
        [f"{SCHEMA}.journal_entries.id", f"{SCHEMA}.journal_entries.user_id"],
        ondelete="CASCADE",
        name="fk_entry_revisions_entry_id_journal_entries",
    ),
    # Retention's cross-user scan; erasure goes through the entries (cascade).
    sa.Index("ix_entry_revisions_replaced_at", "replaced_at"),
)


def _link_table(name: str, owner_table: str, owner_column: str) -> sa.Table:
    """``owner ↔ tag`` links; composite foreign keys keep both ends with the same user."""
    return sa.Table(
        name,
        Base.metadata,
        sa.Column(owner_column, sa.Uuid, primary_key=True),
        sa.Column("tag_id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.ForeignKeyConstraint(
            [owner_column, "user_id"],
            [f"{SCHEMA}.{owner_table}.id", f"{SCHEMA}.{owner_table}.user_id"],
            ondelete="CASCADE",
            name=f"fk_{name}_{owner_column}_{owner_table}",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id", "user_id"],
            [f"{SCHEMA}.tags.id", f"{SCHEMA}.tags.user_id"],
            ondelete="CASCADE",
            name=f"fk_{name}_tag_id_tags",
        ),
        sa.Index(f"ix_{name}_tag_id", "tag_id", "user_id"),
    )


class Task(Base, SoftDeleteMixin, Versioned):
    __tablename__ = "tasks"

    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    status: Mapped[str] = mapped_column(sa.Text, nullable=False, server_default=sa.text("'todo'"))
    priority: Mapped[str] = mapped_column(sa.Text, nullable=False, server_default=sa.text("'medium'"))
    # low < medium < high as a sortable number, kept by the database.
    priority_rank: Mapped[int] = mapped_column(
        sa.BigInteger,
        sa.Computed(
            "CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 ELSE NULL END",
            persisted=True,
        ),
        nullable=True,
    )
    due_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    completed_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    #: One of the user's goals (``journal_0007``); a goal's soft delete leaves it as is.
    goal_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)

    __table_args__ = (
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="title_length"),
        sa.CheckConstraint("char_length(description) <= 10000", name="description_length"),
        sa.CheckConstraint("status IN ('todo', 'in_progress', 'done')", name="status_values"),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high')", name="priority_values"),
        sa.CheckConstraint("(status = 'done') = (completed_at IS NOT NULL)", name="completed_at_iff_done"),
        # The target of the links' composite foreign keys (id first: see the module docstring).
        sa.UniqueConstraint("id", "user_id", name="uq_tasks_id_user_id"),
        sa.ForeignKeyConstraint(
            ["goal_id", "user_id"],
            [f"{SCHEMA}.goals.id", f"{SCHEMA}.goals.user_id"],
            name="fk_tasks_goal_id_goals",
        ),
        # ?goal_id= (a goal's tasks are few: the list's sort happens on them), and the foreign key.
        sa.Index(
            "ix_tasks_goal_id", "goal_id", "created_at", "id", postgresql_where=sa.text("goal_id IS NOT NULL")
        ),
        sa.Index(
            "ix_tasks_user_id_created_at_id",
            "user_id",
            "created_at",
            "id",
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index(
            "ix_tasks_user_id_due_at_id",
            "user_id",
            "due_at",
            "id",
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index(
            "ix_tasks_user_id_priority_rank_id",
            "user_id",
            "priority_rank",
            "id",
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index(
            "ix_tasks_user_id_status", "user_id", "status", postgresql_where=sa.text("deleted_at IS NULL")
        ),
        trash_index("tasks"),
        search_index("tasks", "description"),
    )


#: Which tags an entry carries (the primary key also serves "tags of this entry").
journal_entry_tags = _link_table("journal_entry_tags", "journal_entries", "entry_id")
#: Which tags a task carries.
task_tags = _link_table("task_tags", "tasks", "task_id")

#: The first response to a create sent with ``Idempotency-Key``, replayed to retries.
idempotency_keys = idempotency_table(Base.metadata)

#: Ids of events handled (``users.user.deleted``), so a redelivery does nothing.
inbox = inbox_table(Base.metadata)

#: Task lifecycle events (``journal.task.*``) waiting for the relay, written with the change.
outbox = outbox_table(Base.metadata)

#: Accounts whose tokens and writes this service refuses (see :mod:`daybook_common.denylist`).
denied_users = denied_users_table(Base.metadata)

#: Sessions their owner revoked: their access tokens are refused until they expire.
denied_sessions = denied_sessions_table(Base.metadata)

#: The audit trail, written by triggers on every user-owned table (see :mod:`daybook_common.audit`).
audit_log = audit_table(Base.metadata)

#: Tables whose rows belong to one user and are guarded by row-level security.
USER_OWNED_TABLES = (
    "journal_entries",
    "tags",
    "journal_entry_tags",
    "tasks",
    "task_tags",
    "idempotency_keys",
    "entry_revisions",
)

__all__ = [
    "TASK_PRIORITIES",
    "TASK_STATUSES",
    "USER_OWNED_TABLES",
    "Base",
    "JournalEntry",
    "Tag",
    "Task",
    "audit_log",
    "denied_sessions",
    "denied_users",
    "entry_revisions",
    "idempotency_keys",
    "inbox",
    "journal_entry_tags",
    "outbox",
    "task_tags",
]

# The goals-and-practice tables register on the same metadata (imported last: they use Base).
from daybook_journal.db import goal_models as goal_models  # noqa: E402
