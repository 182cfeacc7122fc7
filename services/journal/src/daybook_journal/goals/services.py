"""Goal trees: business rules and queries (no Litestar here; errors are domain errors).

Concurrency:

- A create locks its parent ``FOR SHARE`` (a move or delete of that parent waits, and a
  create waits for them and then sees the parent's new place, or that it is gone).
- A move takes the caller's *tree lock* (a transaction-scoped advisory lock per user), so
  one user's moves run one at a time: two concurrent moves cannot each pass the cycle
  check against a tree the other is changing.  It then locks the moved subtree
  ``FOR UPDATE`` and reads it again in a fresh statement, so a child created just before
  is moved (and counted in the depth check) too.
- A delete and a restore take the same tree lock first (then lock the subtree the same
  way): they lock several rows of one tree, in an order a move's could cross, so without it
  a move racing a delete or restore of a neighbouring goal could deadlock.

Re-rooting is one ``UPDATE`` of the moved goal's ``parent_id``/``root_id`` (plus every
moved row's ``depth``): the composite foreign keys' ``ON UPDATE CASCADE`` carries the new
``root_id`` to every descendant and to the practice data hanging from them.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from daybook_common.errors import Conflict, DomainError, ExpectedVersion, Invalid, NotFound, check_version
from daybook_common.export import ExportKind
from daybook_common.pagination import decode_cursor, encode_cursor
from daybook_common.rls import UserDb
from daybook_journal.db import goal_models as gm
from daybook_journal.db.errors import constraint_of, error_for_constraint
from daybook_journal.db.queries import new_id, param, utcnow
from daybook_journal.db.reads import CompiledQuery, UserReads, scoped
from daybook_journal.db.rows import AnySelect, Record, SaRow
from daybook_journal.goals import schemas as s
from daybook_journal.goals.subtrees import subtrees_cte

goals = cast(sa.Table, gm.Goal.__table__)
g = goals.c

_COLUMNS = (
    g.id,
    g.user_id,
    g.root_id,
    g.parent_id,
    g.depth,
    g.title,
    g.description,
    g.deadline,
    g.status,
    g.completed_at,
    g.sort_order,
    g.created_at,
    g.updated_at,
    g.deleted_at,
    g.version,
)
_FIELDS = tuple(c.name for c in _COLUMNS if c.name != "version")

_DEADLINE = Invalid("deadline", "must not be before the goal was created")
_TOO_DEEP = Invalid("parent_id", f"a goal tree has at most {gm.MAX_GOAL_DEPTH + 1} levels")
_CONSTRAINTS: dict[str, DomainError] = {
    "ck_goals_deadline_after_created": _DEADLINE,
    "ck_goals_depth_range": _TOO_DEEP,
}
# What a re-root can trip over in the practice data that follows the moved goals.
_MOVE_CONFLICTS = ("uq_", "fk_")

# A goal's subtree (whole, or its live part), walked down by the parent_id index (:mod:`.subtrees`).
_SUBTREE = {
    live_only: "WITH RECURSIVE "
    + subtrees_cte(
        "subtree",
        "SELECT id FROM journal.goals WHERE id = :goal_id AND user_id = :user_id",
        live_only=live_only,
    )
    + "\n"
    for live_only in (False, True)
}

# A hard delete of trashed deletions (``{which}``: one top goal, or all of the caller's): the
# tops go (ON DELETE CASCADE takes their subtrees and the practice data hanging from them);
# tasks naming any goal of those subtrees keep the task and lose the goal_id (a new version).
# As the retention's purge of goal deletions (:mod:`daybook_journal.retention`): the tops are
# picked once and deleted by row address, the tasks matched against an array of the subtrees'
# ids. ``IN (SELECT … FROM tops)`` was planned as a nested loop rescanning the pick for every
# goal (and task) when the statistics said the tables were empty, and so was the walk down the
# subtrees (:mod:`.subtrees`). Linear whatever the statistics (test_goal_purge_plan.py).
_PURGE = (
    """
WITH RECURSIVE tops AS (
    SELECT id, ctid FROM journal.goals WHERE user_id = :user_id AND deletion_id = id {which}
), """
    + subtrees_cte("doomed", "SELECT id FROM tops")
    + """, detached AS (
    UPDATE journal.tasks SET goal_id = NULL, version = version + 1, updated_at = now()
    WHERE user_id = :user_id AND goal_id = ANY(ARRAY(SELECT id FROM doomed)) RETURNING 1
)
DELETE FROM journal.goals WHERE ctid = ANY(ARRAY(SELECT ctid FROM tops)) RETURNING id
"""
)


async def check_live_goal(db: UserDb, goal_id: uuid.UUID | None, field: str = "goal_id") -> None:
    """``goal_id`` must be a live goal of the caller (``422`` naming ``field`` otherwise)."""
    if goal_id is None:
        return
    found = await db.session.scalar(
        sa.select(g.id).where(g.id == goal_id, g.user_id == db.user_id, g.deleted_at.is_(None))
    )
    if found is None:
        raise Invalid(field, "no such goal")


def goal_of(row: RowMapping) -> s.Goal:
    return s.Goal(**{name: row[name] for name in _FIELDS})


#: A tree node's fields are the first columns of :data:`_COLUMNS`, in its order, so a node is
#: built from a row by position: naming each field (a dict, then keyword arguments) cost ten
#: times as much, ~2 µs a node, 60 µs of a 30-goal tree's CPU (bench case 8).
_NODE_WIDTH = len(s.GoalTree.__struct_fields__) - 1
if (*_FIELDS[:_NODE_WIDTH], "children") != s.GoalTree.__struct_fields__:
    raise RuntimeError("goal columns and GoalTree's fields differ: _tree_node builds nodes by position")
_new_node: Callable[..., s.GoalTree] = s.GoalTree  # called positionally with a row's columns


def _tree_node(row: Record) -> s.GoalTree:
    return _new_node(*row[:_NODE_WIDTH], [])


def _after(
    columns: tuple[Any, ...], values: tuple[Any, ...], descending: bool = False
) -> sa.ColumnElement[bool]:
    position = sa.tuple_(*columns)
    bound = sa.tuple_(*(sa.literal(v, type_=c.type) for c, v in zip(columns, values, strict=True)))
    return position < bound if descending else position > bound


def _page(rows: Sequence[SaRow], limit: int, key: tuple[str, ...]) -> tuple[list[s.Goal], str | None]:
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]._mapping
        next_cursor = encode_cursor(*(last[k] for k in key))
    return [goal_of(r._mapping) for r in rows[:limit]], next_cursor


def _build_tree_query() -> CompiledQuery:
    """The goal (live, the caller's) and every live goal of its tree at its depth or deeper.

    The tree's goals are found by ``root_id`` alone: the composite foreign keys make them all the
    top goal's user's (row-level security applies too)."""
    top = goals.alias("top")
    t = top.c

    def build(user_id: Any) -> AnySelect:
        return (
            sa.select(*_COLUMNS)
            .select_from(top.join(goals, sa.and_(g.root_id == t.root_id, g.depth >= t.depth)))
            .where(
                t.id == param("goal_id", t.id),
                t.user_id == user_id,
                t.deleted_at.is_(None),
                g.deleted_at.is_(None),
            )
            .order_by(g.depth, g.sort_order, g.created_at, g.id)
        )

    return CompiledQuery.of(scoped(build, ("depth", "sort_order", "created_at", "id")))


_TREE = _build_tree_query()


class GoalQueries:
    """Goal reads on the read pool: one statement, no transaction (:mod:`daybook_journal.db.reads`)."""

    def __init__(self, reads: UserReads) -> None:
        self.reads = reads

    async def tree(self, goal_id: uuid.UUID) -> s.GoalTree:
        """The goal and its live descendants, from one read of its tree (the root_id index)."""
        rows = await self.reads.fetch(_TREE, goal_id=goal_id)
        top = next((r for r in rows if r["id"] == goal_id), None)
        if top is None:
            raise NotFound("Goal not found")
        root = _tree_node(top)
        nodes: dict[uuid.UUID, s.GoalTree] = {root.id: root}
        for r in rows:  # parents come before their children (depth order)
            parent = nodes.get(r["parent_id"])
            if parent is not None and r["id"] not in nodes:
                node = _tree_node(r)
                nodes[node.id] = node
                parent.children.append(node)
        return root


async def require_in_tree(
    db: UserDb, table: sa.Table, row_id: uuid.UUID, root_id: uuid.UUID, field: str, what: str
) -> None:
    """422 on ``field`` unless ``row_id`` is a row of ``table`` in the caller's tree ``root_id``
    (a group an activity joins, a template a session follows)."""
    c = table.c
    found = await db.session.scalar(
        sa.select(c.id).where(c.id == row_id, c.root_id == root_id, c.user_id == db.user_id)
    )
    if found is None:
        raise Invalid(field, f"no such {what} in this goal tree")


def tree_row_insert(
    db: UserDb, table: sa.Table, root_id: uuid.UUID, now: datetime.datetime, **values: Any
) -> tuple[uuid.UUID, sa.Insert]:
    """A new id and the INSERT of the caller's first version of a row of ``table`` in the tree
    ``root_id`` (hung on the tree's root goal), with ``values`` for the table's own columns."""
    row_id = new_id()
    common = {"id": row_id, "user_id": db.user_id, "root_id": root_id, "goal_id": root_id, "version": 1}
    return row_id, sa.insert(table).values(**common, **values, created_at=now, updated_at=now)


class GoalService:
    """Every goal read and change, in the request's transaction (RLS bound to the caller)."""

    def __init__(self, db: UserDb) -> None:
        self.db = db

    async def _one(self, stmt: AnySelect) -> RowMapping:
        row = (await self.db.session.execute(stmt)).first()
        if row is None:
            raise NotFound("Goal not found")
        return row._mapping

    def _live(self, goal_id: uuid.UUID) -> AnySelect:
        return sa.select(*_COLUMNS).where(
            g.id == goal_id, g.user_id == self.db.user_id, g.deleted_at.is_(None)
        )

    async def get(self, goal_id: uuid.UUID) -> tuple[s.Goal, int]:
        row = await self._one(self._live(goal_id))
        return goal_of(row), row["version"]

    async def live_root(self, root_id: uuid.UUID, lock: bool = False) -> RowMapping:
        """The caller's live root goal ``root_id`` (404 otherwise).

        ``lock`` (creates under the tree): ``FOR SHARE``, so a move or delete of the root
        waits for the create, and the new row's ``root_id`` cannot go stale meanwhile.
        Reads take no lock (a row lock writes to the heap page).
        """
        stmt = self._live(root_id).where(g.parent_id.is_(None))
        row = (await self.db.session.execute(stmt.with_for_update(read=True) if lock else stmt)).first()
        if row is None:
            raise NotFound("Goal tree not found")
        return row._mapping

    # -- lists ------------------------------------------------------------------------------

    async def roots(self, cursor: str | None, limit: int) -> tuple[list[s.Goal], str | None]:
        stmt = sa.select(*_COLUMNS).where(
            g.user_id == self.db.user_id, g.parent_id.is_(None), g.deleted_at.is_(None)
        )
        key = (g.sort_order, g.created_at, g.id)
        if cursor is not None:
            stmt = stmt.where(_after(key, decode_cursor(cursor, (int, datetime.datetime, uuid.UUID))))
        rows = (await self.db.session.execute(stmt.order_by(*key).limit(limit + 1))).all()
        return _page(list(rows), limit, ("sort_order", "created_at", "id"))

    async def tree_page(
        self, root_id: uuid.UUID, cursor: str | None, limit: int
    ) -> tuple[list[s.Goal], str | None]:
        """Every live goal of one tree: parents before children, siblings by sort_order, created_at."""
        await self.live_root(root_id)
        stmt = sa.select(*_COLUMNS).where(
            g.root_id == root_id, g.user_id == self.db.user_id, g.deleted_at.is_(None)
        )
        key = (g.depth, g.sort_order, g.created_at, g.id)
        if cursor is not None:
            stmt = stmt.where(_after(key, decode_cursor(cursor, (int, int, datetime.datetime, uuid.UUID))))
        rows = (await self.db.session.execute(stmt.order_by(*key).limit(limit + 1))).all()
        return _page(list(rows), limit, ("depth", "sort_order", "created_at", "id"))

    async def trash(self, cursor: str | None, limit: int) -> tuple[list[s.Goal], str | None]:
        """Each deletion's top goal, most recently deleted first."""
        stmt = sa.select(*_COLUMNS).where(
            g.user_id == self.db.user_id, g.deleted_at.is_not(None), g.deletion_id == g.id
        )
        key = (g.deleted_at, g.id)
        if cursor is not None:
            stmt = stmt.where(
                _after(key, decode_cursor(cursor, (datetime.datetime, uuid.UUID)), descending=True)
            )
        rows = (
            await self.db.session.execute(stmt.order_by(g.deleted_at.desc(), g.id.desc()).limit(limit + 1))
        ).all()
        return _page(list(rows), limit, ("deleted_at", "id"))

    # -- changes ----------------------------------------------------------------------------

    async def create(self, data: s.GoalCreate) -> tuple[s.Goal, int]:
        goal_id = new_id()
        root_id, depth = goal_id, 0
        if data.parent_id is not None:
            parent = (
                await self.db.session.execute(self._live(data.parent_id).with_for_update(read=True))
            ).first()
            if parent is None:
                raise Invalid("parent_id", "no such goal")
            root_id, depth = parent.root_id, parent.depth + 1
            if depth > gm.MAX_GOAL_DEPTH:
                raise _TOO_DEEP
        now = utcnow()
        deadline = data.deadline.astimezone(datetime.UTC) if data.deadline is not None else None
        if deadline is not None and deadline < now:
            raise _DEADLINE
        values: dict[str, Any] = {
            "id": goal_id,
            "user_id": self.db.user_id,
            "root_id": root_id,
            "parent_id": data.parent_id,
            "depth": depth,
            "title": data.title,
            "description": data.description,
            "deadline": deadline,
            "status": "active",
            "completed_at": None,
            "sort_order": data.sort_order,
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
        }
        await self.db.session.execute(sa.insert(goals).values(**values, version=1))
        return s.Goal(**values), 1

    async def _lock(self, goal_id: uuid.UUID, expected_version: ExpectedVersion) -> RowMapping:
        row = await self._one(self._live(goal_id).with_for_update())
        check_version(row["version"], expected_version)
        return row

    async def update(
        self, goal_id: uuid.UUID, data: s.GoalUpdate, expected_version: ExpectedVersion
    ) -> tuple[s.Goal, int]:
        moving = data.parent_id is not msgspec.UNSET
        if moving:
            await self._take_tree_lock()
        current = await self._lock(goal_id, expected_version)
        values: dict[str, Any] = {
            name: getattr(data, name)
            for name in ("title", "description", "deadline", "sort_order")
            if getattr(data, name) is not msgspec.UNSET
        }
        deadline = values.get("deadline")
        if deadline is not None and deadline < current["created_at"]:
            raise _DEADLINE
        if data.status is not msgspec.UNSET:
            values["status"] = data.status
            if data.status != "done":
                values["completed_at"] = None
            elif current["status"] != "done":
                values["completed_at"] = utcnow()
        if moving and data.parent_id != current["parent_id"]:
            await self._move(current, cast(uuid.UUID | None, data.parent_id))
        if values or moving:
            await self._execute(
                sa.update(goals)
                .where(g.id == goal_id, g.user_id == self.db.user_id)
                .values(**values, version=g.version + 1, updated_at=utcnow())
            )
        return await self.get(goal_id)

    async def _take_tree_lock(self) -> None:
        key = sa.func.hashtextextended(sa.literal(f"journal.goals.tree:{self.db.user_id}"), 0)
        await self.db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    async def _lock_subtree(self, goal_id: uuid.UUID, live_only: bool) -> list[SaRow]:
        """Lock the goal's subtree ``FOR UPDATE``, then read it again (a fresh snapshot).

        The subtree's goals are matched against an array of its ids (each looked up by the
        primary key), not ``IN (SELECT …)``, a join the statistics decide."""
        cte = _SUBTREE[live_only]
        params = {"goal_id": goal_id, "user_id": self.db.user_id}
        mine = "WHERE id = ANY(ARRAY(SELECT id FROM subtree))"
        await self.db.session.execute(sa.text(f"{cte}SELECT id FROM journal.goals {mine} FOR UPDATE"), params)
        rows = await self.db.session.execute(
            sa.text(f"{cte}SELECT id, depth FROM journal.goals {mine}"), params
        )
        return list(rows.all())

    async def _move(self, current: RowMapping, parent_id: uuid.UUID | None) -> None:
        goal_id = current["id"]
        if parent_id is None:
            new_root, new_depth = goal_id, 0
        else:
            parent = (await self.db.session.execute(self._live(parent_id).with_for_update(read=True))).first()
            if parent is None:
                raise Invalid("parent_id", "no such goal")
            if parent.root_id == current["root_id"] and await self._is_ancestor(goal_id, parent_id):
                raise Invalid("parent_id", "a goal cannot move under itself or its own descendants")
            new_root, new_depth = parent.root_id, parent.depth + 1
        subtree = await self._lock_subtree(goal_id, live_only=False)
        height = max(r.depth for r in subtree) - current["depth"]
        if new_depth + height > gm.MAX_GOAL_DEPTH:
            raise _TOO_DEEP
        delta = new_depth - current["depth"]
        moved = g.id == goal_id
        try:
            await self.db.session.execute(
                sa.update(goals)
                .where(g.id.in_([r.id for r in subtree]), g.user_id == self.db.user_id)
                .values(
                    depth=g.depth + delta,
                    parent_id=sa.case((moved, parent_id), else_=g.parent_id),
                    root_id=sa.case((moved, new_root), else_=g.root_id),
                )
            )
        except IntegrityError as exc:
            name = _constraint(exc)
            if name.startswith(_MOVE_CONFLICTS):
                raise Conflict(
                    "The move would split or clash practice data: the destination tree has an activity,"
                    " group or template of the same name, or sessions and templates that stay use"
                    " activities that would leave"
                ) from None
            raise

    async def _is_ancestor(self, goal_id: uuid.UUID, of: uuid.UUID) -> bool:
        """Is ``goal_id`` the goal ``of`` or one of its ancestors?"""
        sql = """
        WITH RECURSIVE up AS (
            SELECT id, parent_id FROM journal.goals WHERE id = :of AND user_id = :user_id
            UNION ALL
            SELECT p.id, p.parent_id FROM journal.goals AS p JOIN up ON p.id = up.parent_id
        )
        SELECT EXISTS (SELECT 1 FROM up WHERE id = :goal_id)
        """
        params = {"of": of, "goal_id": goal_id, "user_id": self.db.user_id}
        return bool((await self.db.session.execute(sa.text(sql), params)).scalar())

    async def delete(self, goal_id: uuid.UUID, expected_version: ExpectedVersion) -> None:
        """Soft-delete the goal and its live subtree as one deletion (``deletion_id`` = the goal)."""
        await self._take_tree_lock()
        await self._lock(goal_id, expected_version)
        subtree = await self._lock_subtree(goal_id, live_only=True)
        now = utcnow()
        await self.db.session.execute(
            sa.update(goals)
            .where(g.id.in_([r.id for r in subtree]), g.user_id == self.db.user_id, g.deleted_at.is_(None))
            .values(deleted_at=now, deletion_id=goal_id, version=g.version + 1, updated_at=now)
        )

    async def restore(self, goal_id: uuid.UUID) -> tuple[s.Goal, int]:
        """Bring back exactly the rows that the goal's delete put in the trash."""
        await self._take_tree_lock()
        top = (
            await self.db.session.execute(
                sa.select(g.id, g.parent_id)
                .where(g.id == goal_id, g.user_id == self.db.user_id, g.deletion_id == g.id)
                .with_for_update()
            )
        ).first()
        if top is None:
            raise NotFound("Goal not in the trash (restore the goal whose delete removed it)")
        if top.parent_id is not None:
            parent = (
                await self.db.session.execute(
                    sa.select(g.deleted_at).where(g.id == top.parent_id).with_for_update(read=True)
                )
            ).first()
            if parent is None or parent.deleted_at is not None:
                raise Conflict("Its parent goal is in the trash: restore the parent first")
        await self.db.session.execute(
            sa.update(goals)
            .where(g.deletion_id == goal_id, g.user_id == self.db.user_id)
            .values(deleted_at=None, deletion_id=None, version=g.version + 1, updated_at=utcnow())
        )
        return await self.get(goal_id)

    async def purge(self, goal_id: uuid.UUID) -> None:
        """Delete one trashed deletion (its top goal, the subtree and its practice data) for good."""
        await self._take_tree_lock()
        gone = await self.db.session.execute(
            sa.text(_PURGE.format(which="AND id = :goal_id")),
            {"goal_id": goal_id, "user_id": self.db.user_id},
        )
        if gone.first() is None:
            raise NotFound("Goal not in the trash (delete the goal whose delete removed it)")

    async def empty_trash(self) -> None:
        """Delete every trashed deletion of the caller's for good."""
        await self._take_tree_lock()
        await self.db.session.execute(sa.text(_PURGE.format(which="")), {"user_id": self.db.user_id})

    async def _execute(self, stmt: sa.Executable) -> None:
        try:
            await self.db.session.execute(stmt)
        except IntegrityError as exc:
            error = error_for_constraint(exc, _CONSTRAINTS)
            if error is None:
                raise
            raise error from None


def _constraint(exc: IntegrityError) -> str:
    return constraint_of(exc) or ""


#: The caller's goals for the account export (trash included), the API's shape, by tree and depth.
EXPORT = ExportKind(
    "goals",
    lambda user_id: sa.select(*_COLUMNS).where(g.user_id == user_id).order_by(g.root_id, g.depth, g.id),
    lambda row: goal_of(row._mapping),
)
