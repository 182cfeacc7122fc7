"""The goals-and-practice tables (migration ``journal_0004``), all in the `journal` schema.

**``root_id`` everywhere, kept by the database.**  Every row carries ``root_id``, the id of
its goal tree's root (a root's ``root_id`` is its own ``id``).  Each referenced table has a
unique key ``(id, root_id, user_id)`` and every reference is a composite foreign key onto
it with ``ON UPDATE CASCADE``:

- a goal's ``(parent_id, root_id, user_id)`` → its parent;
- what a tree owns (activity groups, activities, session templates, sessions) hangs from
  the goal it was created under, ``(goal_id, root_id, user_id)`` → that goal;
- what those own (metric/split definitions, template steps, activity instances, metric
  values) hangs from its owner the same way, and refers to other rows of the tree (an
  instance's activity, a value's metric and split) with ``root_id`` in the key too.

So moving a goal (one ``UPDATE`` of its ``parent_id``/``root_id``) re-roots its subtree and
everything hanging from it in the same statement, and no row can name a parent, an
activity or a metric of another tree or another user, whoever writes it.  A move that would
split practice data (an instance of an activity that leaves with the moved goal, in a
session that stays) fails on those same keys, and the service answers ``409``.

Indexes: every foreign key has one; the hot reads have composite ones (a tree by
``(root_id, depth, sort_order, …)``, sessions by ``(root_id, started_at DESC, id DESC)``,
instances by session, values by instance); live-row lists are partial
``WHERE deleted_at IS NULL``.  Every table also has a ``user_id`` index for erasure.
"""

from __future__ import annotations

import datetime
import uuid

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy.orm import Mapped, mapped_column

from daybook_journal import SCHEMA
from daybook_journal.db.models import NAME_KEY, Base, Versioned

GOAL_STATUSES = ("active", "done", "archived")
#: A root is depth 0; 12 levels in all.
MAX_GOAL_DEPTH = 11


def _key(table: str) -> sa.UniqueConstraint:
    """The target of the composite foreign keys onto ``table``."""
    return sa.UniqueConstraint("id", "root_id", "user_id", name=f"uq_{table}_id_root_id_user_id")


def _ref(
    table: str, column: str, target: str, *, on_delete: str = "CASCADE", name: str | None = None
) -> sa.ForeignKeyConstraint:
    """``(column, root_id, user_id) → target(id, root_id, user_id)``, following re-roots."""
    return sa.ForeignKeyConstraint(
        [column, "root_id", "user_id"],
        [f"{SCHEMA}.{target}.id", f"{SCHEMA}.{target}.root_id", f"{SCHEMA}.{target}.user_id"],
        onupdate="CASCADE",
        ondelete=on_delete,
        name=name or f"fk_{table}_{column}_{target}",
    )


def _uuid(nullable: bool = False) -> Mapped[uuid.UUID]:
    return mapped_column(sa.Uuid, nullable=nullable)


def _ts(nullable: bool = True) -> Mapped[datetime.datetime | None]:
    return mapped_column(DateTimeUTC(timezone=True), nullable=nullable)


LIVE = sa.text("deleted_at IS NULL")


class Goal(Base, Versioned):
    __tablename__ = "goals"

    user_id: Mapped[uuid.UUID] = _uuid()
    root_id: Mapped[uuid.UUID] = _uuid()
    parent_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    depth: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    title: Mapped[str] = mapped_column(sa.Text, nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    deadline: Mapped[datetime.datetime | None] = _ts()
    status: Mapped[str] = mapped_column(sa.Text, nullable=False, server_default=sa.text("'active'"))
    completed_at: Mapped[datetime.datetime | None] = _ts()
    sort_order: Mapped[int] = mapped_column(sa.Integer, nullable=False, server_default=sa.text("0"))
    deleted_at: Mapped[datetime.datetime | None] = _ts()
    #: The goal whose DELETE put this row in the trash (its own id for that top goal), so a
    #: restore brings back exactly that deletion's rows.
    deletion_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)

    __table_args__ = (
        sa.CheckConstraint("char_length(title) BETWEEN 1 AND 200", name="title_length"),
        sa.CheckConstraint("char_length(description) <= 10000", name="description_length"),
        sa.CheckConstraint("status IN ('active', 'done', 'archived')", name="status_values"),
        sa.CheckConstraint("(status = 'done') = (completed_at IS NOT NULL)", name="completed_at_iff_done"),
        sa.CheckConstraint("deadline >= created_at", name="deadline_after_created"),
        sa.CheckConstraint(f"depth BETWEEN 0 AND {MAX_GOAL_DEPTH}", name="depth_range"),
        sa.CheckConstraint("(parent_id IS NULL) = (root_id = id)", name="root_iff_no_parent"),
        sa.CheckConstraint("(parent_id IS NULL) = (depth = 0)", name="depth_zero_iff_root"),
        sa.CheckConstraint("(deleted_at IS NULL) = (deletion_id IS NULL)", name="deletion_with_deleted_at"),
        _key("goals"),
        # Tasks point at a goal of their user.
        sa.UniqueConstraint("id", "user_id", name="uq_goals_id_user_id"),
        _ref("goals", "parent_id", "goals"),
        # A user's root goals (GET /goals).
        sa.Index(
            "ix_goals_user_id_roots",
            "user_id",
            "sort_order",
            "created_at",
            "id",
            postgresql_where=sa.text("parent_id IS NULL AND deleted_at IS NULL"),
        ),
        # One tree, parents before children (GET /goals?root_id=, /tree).
        sa.Index(
            "ix_goals_root_id_depth_sort_order",
            "root_id",
            "depth",
            "sort_order",
            "created_at",
            "id",
            postgresql_where=LIVE,
        ),
        sa.Index("ix_goals_parent_id", "parent_id"),
        # The trash: each deletion's top goal, latest first.
        sa.Index(
            "ix_goals_user_id_trash",
            "user_id",
            sa.text("deleted_at DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("deleted_at IS NOT NULL AND deletion_id = id"),
        ),
        sa.Index("ix_goals_deletion_id", "deletion_id", postgresql_where=sa.text("deletion_id IS NOT NULL")),
        # Trash retention across users (journal_0011).
        sa.Index(
            "ix_goals_deleted_at_trash_tops",
            "deleted_at",
            postgresql_where=sa.text("deleted_at IS NOT NULL AND deletion_id = id"),
        ),
        # Erasure walks a user's goals deepest first (no cascade inside a batch).
        sa.Index("ix_goals_user_id_depth", "user_id", sa.text("depth DESC")),
    )


class ActivityGroup(Base, Versioned):
    __tablename__ = "activity_groups"

    user_id: Mapped[uuid.UUID] = _uuid()
    root_id: Mapped[uuid.UUID] = _uuid()
    #: The goal the group was created under (its tree's root then); ``root_id`` follows it.
    goal_id: Mapped[uuid.UUID] = _uuid()
    name: Mapped[str] = mapped_column(sa.Text, nullable=False)
    sort_order: Mapped[int] = mapped_column(sa.Integer, nullable=False, server_default=sa.text("0"))

    __table_args__ = (
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        _key("activity_groups"),
        _ref("activity_groups", "goal_id", "goals"),
        sa.Index("uq_activity_groups_root_id_name_key", "root_id", NAME_KEY, unique=True),
        sa.Index("ix_activity_groups_root_id_sort_order", "root_id", "sort_order", "id"),
        sa.Index("ix_activity_groups_goal_id", "goal_id"),
        sa.Index("ix_activity_groups_user_id", "user_id"),
    )


class Activity(Base, Versioned):
    __tablename__ = "activities"

    user_id: Mapped[uuid.UUID] = _uuid()
    root_id: Mapped[uuid.UUID] = _uuid()
    goal_id: Mapped[uuid.UUID] = _uuid()
    group_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    name: Mapped[str] = mapped_column(sa.Text, nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    deleted_at: Mapped[datetime.datetime | None] = _ts()

    __table_args__ = (
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        sa.CheckConstraint("char_length(description) <= 2000", name="description_length"),
        _key("activities"),
        _ref("activities", "goal_id", "goals"),
        _ref("activities", "group_id", "activity_groups", on_delete="NO ACTION"),
        # Names unique per tree among live activities; also the list's order.
        sa.Index(
            "uq_activities_root_id_name_key",
            "root_id",
            NAME_KEY,
            unique=True,
            postgresql_where=LIVE,
        ),
        sa.Index("ix_activities_goal_id", "goal_id"),
        sa.Index("ix_activities_group_id", "group_id", postgresql_where=sa.text("group_id IS NOT NULL")),
        sa.Index("ix_activities_user_id", "user_id"),
        sa.Index(
            "ix_activities_deleted_at", "deleted_at", postgresql_where=sa.text("deleted_at IS NOT NULL")
        ),
    )


class _ActivityPart:
    """Metric and split definitions: named parts of one activity."""

    user_id: Mapped[uuid.UUID] = _uuid()
    root_id: Mapped[uuid.UUID] = _uuid()
    activity_id: Mapped[uuid.UUID] = _uuid()
    name: Mapped[str] = mapped_column(sa.Text, nullable=False)
    sort_order: Mapped[int] = mapped_column(sa.Integer, nullable=False, server_default=sa.text("0"))
    deleted_at: Mapped[datetime.datetime | None] = _ts()


def _part_args(table: str) -> tuple[object, ...]:
    return (
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        _key(table),
        _ref(table, "activity_id", "activities"),
        sa.Index(
            f"uq_{table}_activity_id_name_key",
            "activity_id",
            NAME_KEY,
            unique=True,
            postgresql_where=LIVE,
        ),
        sa.Index(f"ix_{table}_activity_id_sort_order", "activity_id", "sort_order", "id"),
        sa.Index(f"ix_{table}_user_id", "user_id"),
    )


class MetricDefinition(Base, _ActivityPart, Versioned):
    __tablename__ = "metric_definitions"

    unit: Mapped[str] = mapped_column(sa.Text, nullable=False)

    __table_args__ = (
        *_part_args("metric_definitions"),
        sa.CheckConstraint("char_length(unit) BETWEEN 1 AND 30", name="unit_length"),
    )


class SplitDefinition(Base, _ActivityPart, Versioned):
    __tablename__ = "split_definitions"

    __table_args__ = _part_args("split_definitions")


class SessionTemplate(Base, Versioned):
    __tablename__ = "session_templates"

    user_id: Mapped[uuid.UUID] = _uuid()
    root_id: Mapped[uuid.UUID] = _uuid()
    goal_id: Mapped[uuid.UUID] = _uuid()
    name: Mapped[str] = mapped_column(sa.Text, nullable=False)

    __table_args__ = (
        sa.CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        _key("session_templates"),
        _ref("session_templates", "goal_id", "goals"),
        sa.Index("uq_session_templates_root_id_name_key", "root_id", NAME_KEY, unique=True),
        sa.Index("ix_session_templates_goal_id", "goal_id"),
        sa.Index("ix_session_templates_user_id", "user_id"),
    )


#: A template's activities, in order (``position`` 0, 1, …).
template_activities = sa.Table(
    "template_activities",
    Base.metadata,
    sa.Column("template_id", sa.Uuid, primary_key=True),
    sa.Column("position", sa.SmallInteger, primary_key=True),
    sa.Column("activity_id", sa.Uuid, nullable=False),
    sa.Column("root_id", sa.Uuid, nullable=False),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.CheckConstraint("position >= 0", name="position_range"),
    _ref("template_activities", "template_id", "session_templates"),
    _ref("template_activities", "activity_id", "activities"),
    sa.Index("ix_template_activities_activity_id", "activity_id"),
    sa.Index("ix_template_activities_user_id", "user_id"),
)


class PracticeSession(Base, Versioned):
    __tablename__ = "sessions"

    user_id: Mapped[uuid.UUID] = _uuid()
    root_id: Mapped[uuid.UUID] = _uuid()
    goal_id: Mapped[uuid.UUID] = _uuid()
    template_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    title: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    notes: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    started_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    ended_at: Mapped[datetime.datetime | None] = _ts()
    deleted_at: Mapped[datetime.datetime | None] = _ts()
    #: A cache: the msgspec JSON of the session's ``activities`` as the API renders them, or NULL
    #: (unknown).  Triggers on ``activity_instances`` and ``metric_values`` NULL it on every change;
    #: the service writes it back in the same transaction (``sessions.snapshots``, journal_0018).
    #: Compressed with lz4 where the server has it (journal_0020; not expressible here, and
    #: Alembic does not compare it).
    activities_json: Mapped[str | None] = mapped_column(sa.Text, nullable=True)

    __table_args__ = (
        sa.CheckConstraint("char_length(title) <= 200", name="title_length"),
        sa.CheckConstraint("char_length(notes) <= 10000", name="notes_length"),
        sa.CheckConstraint("ended_at >= started_at", name="ended_after_started"),
        _key("sessions"),
        _ref("sessions", "goal_id", "goals"),
        sa.ForeignKeyConstraint(
            ["template_id"],
            [f"{SCHEMA}.session_templates.id"],
            ondelete="SET NULL",
            name="fk_sessions_template_id_session_templates",
        ),
        # A tree's sessions, newest first (GET /goals/{root}/sessions, stats).
        sa.Index(
            "ix_sessions_root_id_started_at_id",
            "root_id",
            sa.text("started_at DESC"),
            sa.text("id DESC"),
            postgresql_where=LIVE,
        ),
        sa.Index("ix_sessions_goal_id", "goal_id"),
        sa.Index(
            "ix_sessions_template_id", "template_id", postgresql_where=sa.text("template_id IS NOT NULL")
        ),
        sa.Index("ix_sessions_user_id", "user_id"),
        sa.Index("ix_sessions_deleted_at", "deleted_at", postgresql_where=sa.text("deleted_at IS NOT NULL")),
    )


#: Goals a session worked towards (goals of its tree when linked).
session_goals = sa.Table(
    "session_goals",
    Base.metadata,
    sa.Column("session_id", sa.Uuid, primary_key=True),
    sa.Column("goal_id", sa.Uuid, primary_key=True),
    sa.Column("user_id", sa.Uuid, nullable=False),
    sa.ForeignKeyConstraint(
        ["session_id"],
        [f"{SCHEMA}.sessions.id"],
        ondelete="CASCADE",
        name="fk_session_goals_session_id_sessions",
    ),
    sa.ForeignKeyConstraint(
        ["goal_id", "user_id"],
        [f"{SCHEMA}.goals.id", f"{SCHEMA}.goals.user_id"],
        ondelete="CASCADE",
        name="fk_session_goals_goal_id_goals",
    ),
    sa.Index("ix_session_goals_goal_id", "goal_id"),
    sa.Index("ix_session_goals_user_id", "user_id"),
)


class ActivityInstance(Base, Versioned):
    __tablename__ = "activity_instances"

    user_id: Mapped[uuid.UUID] = _uuid()
    root_id: Mapped[uuid.UUID] = _uuid()
    session_id: Mapped[uuid.UUID] = _uuid()
    activity_id: Mapped[uuid.UUID] = _uuid()
    time_start: Mapped[datetime.datetime | None] = _ts()
    time_stop: Mapped[datetime.datetime | None] = _ts()
    duration_seconds: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    sort_order: Mapped[int] = mapped_column(sa.Integer, nullable=False, server_default=sa.text("0"))

    __table_args__ = (
        sa.CheckConstraint("time_stop >= time_start", name="stop_after_start"),
        sa.CheckConstraint("time_stop IS NULL OR time_start IS NOT NULL", name="stop_needs_start"),
        sa.CheckConstraint("duration_seconds >= 0", name="duration_non_negative"),
        _key("activity_instances"),
        _ref("activity_instances", "session_id", "sessions"),
        _ref("activity_instances", "activity_id", "activities"),
        sa.Index("ix_activity_instances_session_id_sort_order", "session_id", "sort_order", "id"),
        # A tree's instances for its stats, index-only (journal_0016).
        sa.Index(
            "ix_activity_instances_root_id_session_id",
            "root_id",
            "session_id",
            postgresql_include=["id", "activity_id", "duration_seconds", "user_id"],
        ),
        sa.Index("ix_activity_instances_activity_id", "activity_id"),
        sa.Index("ix_activity_instances_user_id", "user_id"),
    )


class MetricValue(Base):
    __tablename__ = "metric_values"

    user_id: Mapped[uuid.UUID] = _uuid()
    root_id: Mapped[uuid.UUID] = _uuid()
    instance_id: Mapped[uuid.UUID] = _uuid()
    metric_id: Mapped[uuid.UUID] = _uuid()
    split_id: Mapped[uuid.UUID | None] = _uuid(nullable=True)
    value: Mapped[float] = mapped_column(sa.Double, nullable=False)

    __table_args__ = (
        sa.CheckConstraint("value >= 0", name="value_non_negative"),
        sa.CheckConstraint("value < 'Infinity'::float8", name="value_finite"),
        _ref("metric_values", "instance_id", "activity_instances"),
        _ref("metric_values", "metric_id", "metric_definitions"),
        _ref("metric_values", "split_id", "split_definitions"),
        sa.Index(
            "uq_metric_values_instance_metric_split",
            "instance_id",
            "metric_id",
            "split_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        # A tree's values for its stats, index-only (journal_0016).
        sa.Index(
            "ix_metric_values_root_id_instance_id",
            "root_id",
            "instance_id",
            postgresql_include=["metric_id", "split_id", "value", "user_id"],
        ),
        sa.Index("ix_metric_values_metric_id", "metric_id"),
        sa.Index("ix_metric_values_split_id", "split_id", postgresql_where=sa.text("split_id IS NOT NULL")),
        sa.Index("ix_metric_values_user_id", "user_id"),
    )


#: Goals-and-practice tables guarded by row-level security (all of them).
GOAL_TABLES = (
    "goals",
    "activity_groups",
    "activities",
    "metric_definitions",
    "split_definitions",
    "session_templates",
    "template_activities",
    "sessions",
    "session_goals",
    "activity_instances",
    "metric_values",
)
