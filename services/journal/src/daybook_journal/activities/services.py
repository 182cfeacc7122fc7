"""Activities, activity groups, metric and split definitions: rules and queries (no Litestar).

Everything here belongs to one goal tree: it is created under a live root goal of the
caller (``/goals/{root_id}/…``) and carries that tree's ``root_id``.  Names are unique
per tree (groups, live activities) or per activity (live metrics, live splits),
case-insensitively; the unique indexes decide, and their violations are ``409``.  An
activity's ``version`` (its ETag) grows when its metrics or splits change, since they are
part of its representation.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from typing import Any, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from daybook_common.errors import Conflict, DomainError, ExpectedVersion, Invalid, NotFound, check_version
from daybook_common.pagination import decode_cursor, encode_cursor
from daybook_common.rls import UserDb
from daybook_journal.activities import schemas as s
from daybook_journal.db import goal_models as gm
from daybook_journal.db.errors import error_for_constraint
from daybook_journal.db.models import name_key
from daybook_journal.db.queries import new_id, utcnow
from daybook_journal.db.rows import AnySelect, SaRow
from daybook_journal.goals.services import GoalService, require_in_tree, tree_row_insert
from daybook_journal.lifecycle import lock_live, lock_trashed, new_version

groups = cast(sa.Table, gm.ActivityGroup.__table__)
activities = cast(sa.Table, gm.Activity.__table__)
metrics = cast(sa.Table, gm.MetricDefinition.__table__)
splits = cast(sa.Table, gm.SplitDefinition.__table__)
a = activities.c

CONSTRAINTS: dict[str, DomainError] = {
    "uq_activity_groups_root_id_name_key": Conflict("This tree already has a group of that name"),
    "uq_activities_root_id_name_key": Conflict("This tree already has an activity of that name"),
    "uq_metric_definitions_activity_id_name_key": Conflict("This activity already has a metric of that name"),
    "uq_split_definitions_activity_id_name_key": Conflict("This activity already has a split of that name"),
    # The group was deleted while the activity naming it was being written.
    "fk_activities_group_id_activity_groups": Invalid("group_id", "no such group in this goal tree"),
}


async def execute(db: UserDb, stmt: sa.Executable) -> sa.Result[*tuple[Any, ...]]:
    """Run a change; a named unique/check violation becomes its domain error."""
    try:
        return await db.session.execute(stmt)
    except IntegrityError as exc:
        error = error_for_constraint(exc, CONSTRAINTS)
        if error is None:
            raise
        raise error from None


def _metric(row: SaRow) -> s.Metric:
    return s.Metric(
        id=row.id,
        name=row.name,
        unit=row.unit,
        sort_order=row.sort_order,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _split(row: SaRow) -> s.Split:
    return s.Split(
        id=row.id,
        name=row.name,
        sort_order=row.sort_order,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _group(row: SaRow) -> s.ActivityGroup:
    return s.ActivityGroup(
        id=row.id,
        user_id=row.user_id,
        root_id=row.root_id,
        name=row.name,
        sort_order=row.sort_order,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class ActivityService:
    def __init__(self, db: UserDb) -> None:
        self.db = db
        self.goals = GoalService(db)

    # -- groups -----------------------------------------------------------------------------

    async def create_group(
        self, root_id: uuid.UUID, data: s.ActivityGroupCreate
    ) -> tuple[s.ActivityGroup, int]:
        await self.goals.live_root(root_id, lock=True)
        now = utcnow()
        group = s.ActivityGroup(
            id=new_id(),
            user_id=self.db.user_id,
            root_id=root_id,
            name=data.name,
            sort_order=data.sort_order,
            created_at=now,
            updated_at=now,
        )
        await execute(
            self.db, sa.insert(groups).values(**msgspec.structs.asdict(group), goal_id=root_id, version=1)
        )
        return group, 1

    async def list_groups(
        self, root_id: uuid.UUID, cursor: str | None, limit: int
    ) -> tuple[list[s.ActivityGroup], str | None]:
        await self.goals.live_root(root_id)
        c = groups.c
        stmt = sa.select(groups).where(c.root_id == root_id, c.user_id == self.db.user_id)
        if cursor is not None:
            order, last = decode_cursor(cursor, (int, uuid.UUID))
            stmt = stmt.where(sa.tuple_(c.sort_order, c.id) > sa.tuple_(sa.literal(order), sa.literal(last)))
        rows = (await self.db.session.execute(stmt.order_by(c.sort_order, c.id).limit(limit + 1))).all()
        next_cursor = (
            encode_cursor(rows[limit - 1].sort_order, rows[limit - 1].id) if len(rows) > limit else None
        )
        return [_group(r) for r in rows[:limit]], next_cursor

    async def _group_row(self, group_id: uuid.UUID, lock: bool = False) -> SaRow:
        c = groups.c
        stmt = sa.select(groups).where(c.id == group_id, c.user_id == self.db.user_id)
        row = (await self.db.session.execute(stmt.with_for_update() if lock else stmt)).first()
        if row is None:
            raise NotFound("Activity group not found")
        return row

    async def get_group(self, group_id: uuid.UUID) -> tuple[s.ActivityGroup, int]:
        row = await self._group_row(group_id)
        return _group(row), row.version

    async def update_group(
        self, group_id: uuid.UUID, data: s.ActivityGroupUpdate, expected_version: ExpectedVersion
    ) -> tuple[s.ActivityGroup, int]:
        """Rename or re-sort a group (``409`` if the tree has a group of the new name)."""
        row = await self._group_row(group_id, lock=True)
        check_version(row.version, expected_version)
        values = {
            name: getattr(data, name)
            for name in ("name", "sort_order")
            if getattr(data, name) is not msgspec.UNSET
        }
        if values:
            await execute(self.db, new_version(self.db, groups, group_id, **values))
        return await self.get_group(group_id)

    async def delete_group(self, group_id: uuid.UUID, expected_version: ExpectedVersion) -> None:
        """Delete a group for good; its activities (live and trashed) stay, ungrouped: ``group_id``
        becomes null and each gets a new version (its ETag changes, as its representation did)."""
        row = await self._group_row(group_id, lock=True)
        check_version(row.version, expected_version)
        await self.db.session.execute(
            sa.update(activities)
            .where(a.group_id == group_id, a.user_id == self.db.user_id)
            .values(group_id=None, version=a.version + 1, updated_at=utcnow())
        )
        c = groups.c
        await self.db.session.execute(sa.delete(groups).where(c.id == group_id, c.user_id == self.db.user_id))

    async def _group_of_tree(self, group_id: uuid.UUID | None, root_id: uuid.UUID) -> None:
        if group_id is None:
            return
        await require_in_tree(self.db, groups, group_id, root_id, "group_id", "group")

    # -- activities -------------------------------------------------------------------------

    async def create(self, root_id: uuid.UUID, data: s.ActivityCreate) -> tuple[s.Activity, int]:
        await self.goals.live_root(root_id, lock=True)
        await self._group_of_tree(data.group_id, root_id)
        activity_id, insert = tree_row_insert(
            self.db,
            activities,
            root_id,
            utcnow(),
            group_id=data.group_id,
            name=data.name,
            description=data.description,
        )
        await execute(self.db, insert)
        for metric in data.metrics:
            await self._insert_part(
                metrics, activity_id, root_id, metric.name, metric.sort_order, unit=metric.unit
            )
        for split in data.splits:
            await self._insert_part(splits, activity_id, root_id, split.name, split.sort_order)
        return await self.get(activity_id)

    async def _insert_part(
        self,
        table: sa.Table,
        activity_id: uuid.UUID,
        root_id: uuid.UUID,
        name: str,
        sort_order: int,
        **extra: Any,
    ) -> uuid.UUID:
        now = utcnow()
        part_id = new_id()
        await execute(
            self.db,
            sa.insert(table).values(
                id=part_id,
                user_id=self.db.user_id,
                root_id=root_id,
                activity_id=activity_id,
                name=name,
                sort_order=sort_order,
                version=1,
                created_at=now,
                updated_at=now,
                **extra,
            ),
        )
        return part_id

    def _live(self, activity_id: uuid.UUID) -> AnySelect:
        return sa.select(activities).where(
            a.id == activity_id, a.user_id == self.db.user_id, a.deleted_at.is_(None)
        )

    async def _parts(
        self, activity_ids: Sequence[uuid.UUID]
    ) -> tuple[dict[uuid.UUID, list[s.Metric]], dict[uuid.UUID, list[s.Split]]]:
        """The live metric and split definitions of these activities, by sort_order then id."""
        by_metric: dict[uuid.UUID, list[s.Metric]] = {i: [] for i in activity_ids}
        by_split: dict[uuid.UUID, list[s.Split]] = {i: [] for i in activity_ids}
        if activity_ids:
            for row in await self._part_rows(metrics, activity_ids):
                by_metric[row.activity_id].append(_metric(row))
            for row in await self._part_rows(splits, activity_ids):
                by_split[row.activity_id].append(_split(row))
        return by_metric, by_split

    async def _part_rows(self, table: sa.Table, activity_ids: Sequence[uuid.UUID]) -> Sequence[SaRow]:
        c = table.c
        rows = await self.db.session.execute(
            sa.select(table)
            .where(
                c.activity_id.in_(list(activity_ids)), c.user_id == self.db.user_id, c.deleted_at.is_(None)
            )
            .order_by(c.activity_id, c.sort_order, c.id)
        )
        return rows.all()

    def _activity(self, row: SaRow, metric_list: list[s.Metric], split_list: list[s.Split]) -> s.Activity:
        return s.Activity(
            id=row.id,
            user_id=row.user_id,
            root_id=row.root_id,
            group_id=row.group_id,
            name=row.name,
            description=row.description,
            metrics=metric_list,
            splits=split_list,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deleted_at=row.deleted_at,
        )

    async def get(self, activity_id: uuid.UUID) -> tuple[s.Activity, int]:
        row = (await self.db.session.execute(self._live(activity_id))).first()
        if row is None:
            raise NotFound("Activity not found")
        by_metric, by_split = await self._parts([row.id])
        return self._activity(row, by_metric[row.id], by_split[row.id]), row.version

    async def page(
        self, root_id: uuid.UUID, cursor: str | None, limit: int
    ) -> tuple[list[s.Activity], str | None]:
        """A tree's live activities by name (case-insensitive), then id."""
        await self.goals.live_root(root_id)
        key = name_key(a.name)
        stmt = sa.select(activities, key.label("name_key")).where(
            a.root_id == root_id, a.user_id == self.db.user_id, a.deleted_at.is_(None)
        )
        if cursor is not None:
            name, last = decode_cursor(cursor, (str, uuid.UUID))
            stmt = stmt.where(sa.tuple_(key, a.id) > sa.tuple_(sa.literal(name), sa.literal(last)))
        rows = (await self.db.session.execute(stmt.order_by(key, a.id).limit(limit + 1))).all()
        next_cursor = (
            encode_cursor(rows[limit - 1].name_key, rows[limit - 1].id) if len(rows) > limit else None
        )
        page = rows[:limit]
        by_metric, by_split = await self._parts([r.id for r in page])
        return [self._activity(r, by_metric[r.id], by_split[r.id]) for r in page], next_cursor

    async def lock(self, activity_id: uuid.UUID, expected_version: ExpectedVersion = None) -> SaRow:
        return await lock_live(self.db, self._live(activity_id), expected_version, "Activity not found")

    async def _touch(self, activity_id: uuid.UUID, **values: Any) -> None:
        await execute(self.db, new_version(self.db, activities, activity_id, **values))

    async def update(
        self, activity_id: uuid.UUID, data: s.ActivityUpdate, expected_version: ExpectedVersion
    ) -> tuple[s.Activity, int]:
        current = await self.lock(activity_id, expected_version)
        values = {
            name: getattr(data, name)
            for name in ("name", "description", "group_id")
            if getattr(data, name) is not msgspec.UNSET
        }
        if values.get("group_id") is not None:
            await self._group_of_tree(values["group_id"], current.root_id)
        if values:
            await self._touch(activity_id, **values)
        return await self.get(activity_id)

    async def delete(self, activity_id: uuid.UUID, expected_version: ExpectedVersion) -> None:
        await self.lock(activity_id, expected_version)
        await self._touch(activity_id, deleted_at=utcnow())

    async def restore(self, activity_id: uuid.UUID) -> tuple[s.Activity, int]:
        """Back from the trash (``409`` if a live activity of the tree took its name meanwhile)."""
        await lock_trashed(self.db, activities, activity_id, "Activity not in the trash")
        await self._touch(activity_id, deleted_at=None)
        return await self.get(activity_id)

    async def trash(
        self, root_id: uuid.UUID, cursor: str | None, limit: int
    ) -> tuple[list[s.Activity], str | None]:
        await self.goals.live_root(root_id)
        stmt = sa.select(activities).where(
            a.root_id == root_id, a.user_id == self.db.user_id, a.deleted_at.is_not(None)
        )
        if cursor is not None:
            when, last = decode_cursor(cursor, (datetime.datetime, uuid.UUID))
            stmt = stmt.where(
                sa.tuple_(a.deleted_at, a.id)
                < sa.tuple_(sa.literal(when, a.deleted_at.type), sa.literal(last))
            )
        rows = (
            await self.db.session.execute(stmt.order_by(a.deleted_at.desc(), a.id.desc()).limit(limit + 1))
        ).all()
        next_cursor = (
            encode_cursor(rows[limit - 1].deleted_at, rows[limit - 1].id) if len(rows) > limit else None
        )
        page = rows[:limit]
        by_metric, by_split = await self._parts([r.id for r in page])
        return [self._activity(r, by_metric[r.id], by_split[r.id]) for r in page], next_cursor

    # -- metric and split definitions ---------------------------------------------------------

    async def add_metric(self, activity_id: uuid.UUID, data: s.MetricCreate) -> tuple[s.Metric, int]:
        current = await self.lock(activity_id)
        part_id = await self._insert_part(
            metrics, activity_id, current.root_id, data.name, data.sort_order, unit=data.unit
        )
        await self._touch(activity_id)
        row = await self._part_row(metrics, activity_id, part_id)
        return _metric(row), row.version

    async def add_split(self, activity_id: uuid.UUID, data: s.SplitCreate) -> tuple[s.Split, int]:
        current = await self.lock(activity_id)
        part_id = await self._insert_part(splits, activity_id, current.root_id, data.name, data.sort_order)
        await self._touch(activity_id)
        row = await self._part_row(splits, activity_id, part_id)
        return _split(row), row.version

    async def _part_row(self, table: sa.Table, activity_id: uuid.UUID, part_id: uuid.UUID) -> SaRow:
        c = table.c
        row = (
            await self.db.session.execute(
                sa.select(table).where(
                    c.id == part_id,
                    c.activity_id == activity_id,
                    c.user_id == self.db.user_id,
                    c.deleted_at.is_(None),
                )
            )
        ).first()
        if row is None:
            raise NotFound("Metric not found" if table is metrics else "Split not found")
        return row

    async def _live_part(self, table: sa.Table, activity_id: uuid.UUID, part_id: uuid.UUID) -> SaRow:
        """A live definition of a live activity of the caller's (``404`` otherwise, also when the
        activity is in the trash)."""
        if (await self.db.session.execute(self._live(activity_id).with_only_columns(a.id))).first() is None:
            raise NotFound("Activity not found")
        return await self._part_row(table, activity_id, part_id)

    async def get_metric(self, activity_id: uuid.UUID, metric_id: uuid.UUID) -> tuple[s.Metric, int]:
        row = await self._live_part(metrics, activity_id, metric_id)
        return _metric(row), row.version

    async def get_split(self, activity_id: uuid.UUID, split_id: uuid.UUID) -> tuple[s.Split, int]:
        row = await self._live_part(splits, activity_id, split_id)
        return _split(row), row.version

    async def update_metric(
        self, activity_id: uuid.UUID, metric_id: uuid.UUID, data: s.MetricUpdate, expected: ExpectedVersion
    ) -> tuple[s.Metric, int]:
        row = await self._update_part(metrics, activity_id, metric_id, data, expected)
        return _metric(row), row.version

    async def update_split(
        self, activity_id: uuid.UUID, split_id: uuid.UUID, data: s.SplitUpdate, expected: ExpectedVersion
    ) -> tuple[s.Split, int]:
        row = await self._update_part(splits, activity_id, split_id, data, expected)
        return _split(row), row.version

    async def _locked_part(
        self, table: sa.Table, activity_id: uuid.UUID, part_id: uuid.UUID, expected: ExpectedVersion
    ) -> SaRow:
        """The live definition, its activity locked (so its version check is race-safe): ``404``,
        ``412`` when ``If-Match`` names another version of the definition (its own, not the
        activity's), or the row."""
        await self.lock(activity_id)
        row = await self._part_row(table, activity_id, part_id)
        check_version(row.version, expected)
        return row

    async def _update_part(
        self,
        table: sa.Table,
        activity_id: uuid.UUID,
        part_id: uuid.UUID,
        data: s.MetricUpdate | s.SplitUpdate,
        expected: ExpectedVersion,
    ) -> SaRow:
        await self._locked_part(table, activity_id, part_id, expected)
        values = {
            name: getattr(data, name)
            for name in ("name", "unit", "sort_order")
            if getattr(data, name, msgspec.UNSET) is not msgspec.UNSET
        }
        if values:
            await execute(self.db, new_version(self.db, table, part_id, **values))
            await self._touch(activity_id)
        return await self._part_row(table, activity_id, part_id)

    async def delete_metric(
        self, activity_id: uuid.UUID, metric_id: uuid.UUID, expected: ExpectedVersion
    ) -> None:
        await self._delete_part(metrics, activity_id, metric_id, expected)

    async def delete_split(
        self, activity_id: uuid.UUID, split_id: uuid.UUID, expected: ExpectedVersion
    ) -> None:
        await self._delete_part(splits, activity_id, split_id, expected)

    async def _delete_part(
        self, table: sa.Table, activity_id: uuid.UUID, part_id: uuid.UUID, expected: ExpectedVersion
    ) -> None:
        """Soft delete: recorded values keep their definition, new ones cannot use it."""
        await self._locked_part(table, activity_id, part_id, expected)
        now = utcnow()
        await self.db.session.execute(new_version(self.db, table, part_id, deleted_at=now, updated_at=now))
        await self._touch(activity_id)
