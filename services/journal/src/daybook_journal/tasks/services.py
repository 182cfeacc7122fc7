"""Tasks: business rules and queries.

Every sort has a keyset of its own, ending in ``id`` so the order is total:
``created_at``/``priority`` (low < medium < high, via the generated ``priority_rank``)
are plain ``(key, id)`` row comparisons on ``(user_id, key, id)`` indexes.  ``due_at``
may be NULL; tasks without a due date come last in both directions, so the page is
the union of two index range scans (dated tasks past the cursor, then undated ones)
under one ORDER BY, one round trip.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.engine import RowMapping

from daybook_common.errors import ExpectedVersion, Invalid
from daybook_common.export import ExportKind
from daybook_common.pagination import decode_cursor, encode_cursor
from daybook_common.rls import UserDb
from daybook_journal.db.queries import matches_words, new_id, param, task_tags, tasks, utcnow
from daybook_journal.db.reads import CompiledQuery, UserReads, caller, scoped
from daybook_journal.db.rows import AnySelect, Record, SaRow
from daybook_journal.goals.services import check_live_goal
from daybook_journal.lifecycle import Lifecycle
from daybook_journal.tags.services import lock_new_tags, owned_tags, replace_links
from daybook_journal.tasks import schemas as s
from daybook_journal.tasks.events import task_changed

_PLAIN = (
    tasks.c.id,
    tasks.c.user_id,
    tasks.c.title,
    tasks.c.description,
    tasks.c.status,
    tasks.c.priority,
    tasks.c.priority_rank,
    tasks.c.due_at,
    tasks.c.completed_at,
    tasks.c.goal_id,
    tasks.c.created_at,
    tasks.c.updated_at,
    tasks.c.deleted_at,
    tasks.c.version,
)


def _tag_ids(task_id: sa.ColumnElement[uuid.UUID]) -> sa.Label[Any]:
    agg = sa.func.array_agg(aggregate_order_by(task_tags.c.tag_id, task_tags.c.tag_id))
    subquery = sa.select(agg).where(task_tags.c.task_id == task_id).scalar_subquery()
    return sa.func.coalesce(subquery, sa.cast(sa.literal_column("'{}'"), ARRAY(sa.Uuid))).label("tag_ids")


_COLUMNS = (*_PLAIN, _tag_ids(tasks.c.id))
#: Get live, lock and check the version, delete, restore, trash page.
LIFECYCLE = Lifecycle(tasks, _COLUMNS, "Task not found")


def _task(row: Record | RowMapping) -> s.Task:
    """An asyncpg Record or a SQLAlchemy row mapping → the API shape."""
    return s.Task(
        id=row["id"],
        user_id=row["user_id"],
        title=row["title"],
        description=row["description"],
        status=row["status"],
        priority=row["priority"],
        due_at=row["due_at"],
        completed_at=row["completed_at"],
        tag_ids=list(row["tag_ids"]),
        goal_id=row["goal_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


@dataclass(frozen=True)
class TaskFilters:
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    due_before: datetime.datetime | None = None
    due_after: datetime.datetime | None = None
    q: str | None = None
    goal_id: uuid.UUID | None = None


_KEY_TYPES: dict[str, Any] = {
    "created_at": datetime.datetime,
    "priority": int,
    "due_at": datetime.datetime | None,
}
_KEY_COLUMNS = {"created_at": "created_at", "priority": "priority_rank", "due_at": "due_at"}


@dataclass(frozen=True)
class _Shape:
    """Which parts a ``GET /tasks`` statement has (one compiled statement per shape)."""

    sort: str
    after: str | None  # None, "key" (a (key, id) position) or "undated" (inside the undated tail)
    statuses: bool
    priorities: bool
    due_before: bool
    due_after: bool
    searched: bool
    goal: bool = False


def _where(shape: _Shape, user_id: Any) -> list[Any]:
    t = tasks.c
    where: list[Any] = [t.user_id == user_id, t.deleted_at.is_(None)]
    if shape.statuses:
        where.append(t.status == sa.any_(param("statuses", ARRAY(sa.Text))))
    if shape.priorities:
        where.append(t.priority == sa.any_(param("priorities", ARRAY(sa.Text))))
    if shape.due_before:
        where.append(t.due_at < param("due_before", t.due_at))
    if shape.due_after:
        where.append(t.due_at > param("due_after", t.due_at))
    if shape.goal:
        where.append(t.goal_id == param("goal_id", t.goal_id))
    if shape.searched:
        where.append(matches_words(t.title, t.description, param("q", sa.Text)))
    return where


@functools.cache
def _list_query(shape: _Shape) -> CompiledQuery:
    t = tasks.c
    descending = shape.sort.startswith("-")
    key = shape.sort.lstrip("-")
    direction = " DESC" if descending else ""

    def after(column: Any) -> Any:
        position = sa.tuple_(column, t.id)
        bound = sa.tuple_(param("after_key", column), param("after_id", t.id))
        return position < bound if descending else position > bound

    def order(column: Any) -> tuple[Any, Any]:
        return (column.desc(), t.id.desc()) if descending else (column.asc(), t.id.asc())

    if key != "due_at":
        column = t.created_at if key == "created_at" else t.priority_rank

        def build(user_id: Any) -> AnySelect:
            stmt = sa.select(*_COLUMNS).where(*_where(shape, user_id))
            if shape.after:
                stmt = stmt.where(after(column))
            return stmt.order_by(*order(column)).limit(param("limit", sa.Integer))

        return CompiledQuery.of(scoped(build, (f"{column.name}{direction}", f"id{direction}")))

    # due_at: dated tasks in the requested direction, then the undated ones; each part is
    # one range of the (user_id, due_at, id) index, merged under one ORDER BY.
    def build_due(user_id: Any) -> AnySelect:
        # The parts (nested in FROM) take the caller's id as a plain parameter; the outer
        # filter on the rls row's id is what orders the evaluation after set_config.
        parts: list[AnySelect] = []
        if shape.after != "undated":
            dated = sa.select(*_PLAIN).where(*_where(shape, caller()), t.due_at.is_not(None))
            if shape.after == "key":
                dated = dated.where(after(t.due_at))
            parts.append(dated.order_by(*order(t.due_at)).limit(param("limit", sa.Integer)))
        if not (shape.due_before or shape.due_after):
            undated = sa.select(*_PLAIN).where(*_where(shape, caller()), t.due_at.is_(None))
            if shape.after == "undated":
                last = param("after_id", t.id)
                undated = undated.where(t.id < last if descending else t.id > last)
            parts.append(undated.order_by(*order(t.due_at)).limit(param("limit", sa.Integer)))
        union = (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("part")
        p = union.c
        return (
            sa.select(*(p[c.name] for c in _PLAIN), _tag_ids(p.id))
            .where(p.user_id == user_id)
            .order_by(
                p.due_at.is_(None),
                p.due_at.desc() if descending else p.due_at.asc(),
                p.id.desc() if descending else p.id.asc(),
            )
            .limit(param("limit", sa.Integer))
        )

    return CompiledQuery.of(scoped(build_due, ("due_at IS NULL", f"due_at{direction}", f"id{direction}")))


class TaskQueries:
    """The list endpoints' reads (one statement each on the read pool)."""

    def __init__(self, reads: UserReads) -> None:
        self.reads = reads

    def list_query(
        self, filters: TaskFilters, sort: str, cursor: str | None, limit: int
    ) -> tuple[CompiledQuery, dict[str, Any]]:
        """The statement behind ``GET /tasks`` for one sort order, and its values."""
        key = sort.lstrip("-")
        values: dict[str, Any] = {"limit": limit + 1}
        after: str | None = None
        if cursor is not None:
            kind, value, last_id = decode_cursor(cursor, (str, _KEY_TYPES[key], uuid.UUID))
            if kind != sort:
                raise Invalid("cursor", "this cursor belongs to another sort order")
            values["after_id"] = last_id
            if value is None:
                after = "undated"
            else:
                after, values["after_key"] = "key", value
        if filters.statuses:
            values["statuses"] = sorted(set(filters.statuses))
        if filters.priorities:
            values["priorities"] = sorted(set(filters.priorities))
        if filters.due_before is not None:
            values["due_before"] = filters.due_before
        if filters.due_after is not None:
            values["due_after"] = filters.due_after
        if filters.q:
            values["q"] = filters.q
        if filters.goal_id is not None:
            values["goal_id"] = filters.goal_id
        shape = _Shape(
            sort=sort,
            after=after,
            statuses=bool(filters.statuses),
            priorities=bool(filters.priorities),
            due_before=filters.due_before is not None,
            due_after=filters.due_after is not None,
            searched=bool(filters.q),
            goal=filters.goal_id is not None,
        )
        return _list_query(shape), values

    async def page(
        self, filters: TaskFilters, sort: str, cursor: str | None, limit: int
    ) -> tuple[list[s.Task], str | None]:
        query, values = self.list_query(filters, sort, cursor, limit)
        rows = await self.reads.fetch(query, **values)
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(sort, last[_KEY_COLUMNS[sort.lstrip("-")]], last["id"])
        return [_task(row) for row in rows[:limit]], next_cursor

    async def trash(self, cursor: str | None, limit: int) -> tuple[list[s.Task], str | None]:
        rows, next_cursor = await LIFECYCLE.trash_page(self.reads, cursor, limit)
        return [_task(row) for row in rows], next_cursor


class TaskService:
    """Single-task reads and every change, in the request's transaction (RLS bound to the caller)."""

    def __init__(self, db: UserDb) -> None:
        self.db = db

    async def get(self, task_id: uuid.UUID) -> tuple[s.Task, int]:
        row = await LIFECYCLE.get_live(self.db, task_id)
        return _task(row._mapping), row.version

    # -- changes --------------------------------------------------------------------------

    async def create(self, data: s.TaskCreate) -> tuple[s.Task, int]:
        # Locked now, as their links would lock them: a delete in flight is waited out (its
        # tag is then unknown, a 422) instead of failing the link insert.
        tag_rows = await owned_tags(self.db, data.tag_ids, lock=True)
        await check_live_goal(self.db, data.goal_id)
        now = utcnow()
        task_id = new_id()
        completed_at = now if data.status == "done" else None
        due_at = data.due_at.astimezone(datetime.UTC) if data.due_at is not None else None
        await self.db.session.execute(
            sa.insert(tasks).values(
                id=task_id,
                user_id=self.db.user_id,
                title=data.title,
                description=data.description,
                status=data.status,
                priority=data.priority,
                due_at=due_at,
                completed_at=completed_at,
                goal_id=data.goal_id,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        tag_ids = [r.id for r in tag_rows]
        await replace_links(self.db, task_tags, "task_id", task_id, tag_ids, new_owner=True)
        await task_changed(self.db, task_id, 1, "created")
        task = s.Task(
            id=task_id,
            user_id=self.db.user_id,
            title=data.title,
            description=data.description,
            status=data.status,
            priority=data.priority,
            due_at=due_at,
            completed_at=completed_at,
            tag_ids=sorted(tag_ids),
            goal_id=data.goal_id,
            created_at=now,
            updated_at=now,
        )
        return task, 1

    async def update(
        self, task_id: uuid.UUID, data: s.TaskUpdate, expected_version: ExpectedVersion = None
    ) -> tuple[s.Task, int]:
        tags_changed = data.tag_ids is not msgspec.UNSET
        tag_rows: list[SaRow] = []
        unknown_tag: Invalid | None = None
        if data.tag_ids is not msgspec.UNSET:  # (tags_changed, spelled so mypy narrows tag_ids)
            tag_rows, unknown_tag = await lock_new_tags(self.db, data.tag_ids)
        current = await LIFECYCLE.lock(self.db, task_id, expected_version, tasks.c.status)
        if unknown_tag is not None:
            raise unknown_tag
        values: dict[str, Any] = {
            name: getattr(data, name)
            for name in ("title", "description", "priority", "due_at", "goal_id")
            if getattr(data, name) is not msgspec.UNSET
        }
        if values.get("goal_id") is not None:
            await check_live_goal(self.db, values["goal_id"])
        if data.status is not msgspec.UNSET:
            values["status"] = data.status
            if data.status != "done":
                values["completed_at"] = None
            elif current.status != "done":
                values["completed_at"] = utcnow()
        if tags_changed:
            await replace_links(self.db, task_tags, "task_id", task_id, [r.id for r in tag_rows])
        if values or tags_changed:
            await LIFECYCLE.change(self.db, task_id, **values)
        return await self.get(task_id)

    async def delete(self, task_id: uuid.UUID, expected_version: ExpectedVersion = None) -> None:
        version = await LIFECYCLE.delete(self.db, task_id, expected_version)
        await task_changed(self.db, task_id, version, "deleted")

    async def restore(self, task_id: uuid.UUID) -> tuple[s.Task, int]:
        version = await LIFECYCLE.restore(self.db, task_id)
        if version is not None:
            await task_changed(self.db, task_id, version, "restored")
        return await self.get(task_id)

    async def purge(self, task_id: uuid.UUID) -> None:
        """Delete one trashed task for good (no event: its delete already told the others it is gone)."""
        await LIFECYCLE.purge(self.db, task_id)

    async def empty_trash(self) -> None:
        """Delete every task of the caller's trash for good."""
        await LIFECYCLE.empty_trash(self.db)


#: The caller's tasks for the account export (trash included), the API's shape, oldest first.
EXPORT = ExportKind(
    "tasks",
    lambda user_id: sa.select(*_COLUMNS).where(tasks.c.user_id == user_id).order_by(tasks.c.id),
    lambda row: _task(row._mapping),
)
