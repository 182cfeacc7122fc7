"""Sessions, activity instances, metric values and timers: rules and queries (no Litestar).

A session belongs to one goal tree; its instances name live activities of that tree and
their values name live metric (and split) definitions of the instance's activity: anything
else is ``422``.  The database refuses another tree's ids on its own (composite keys with
``root_id``).  Every change to an instance locks its session row first, so changes to one
session (timers included) run one at a time, and bumps the session's ``version`` (its ETag),
since the instances are part of its representation; the same UPDATE stores the session's
``activities`` snapshot (:mod:`daybook_journal.sessions.snapshots`), encoded from the instances
read back for the answer, after the triggers of the change have set it to NULL.  Timers use the
server's clock.
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
from daybook_common.rls import UserDb
from daybook_journal.activities.services import activities, metrics, splits
from daybook_journal.db import goal_models as gm
from daybook_journal.db.errors import error_for_constraint
from daybook_journal.db.queries import new_id, utcnow
from daybook_journal.db.rows import AnySelect, SaRow, struct_from_row
from daybook_journal.goals.services import GoalService, goals, require_in_tree, tree_row_insert
from daybook_journal.lifecycle import lock_live, lock_trashed, new_version
from daybook_journal.sessions import schemas as s
from daybook_journal.sessions.reads import PageSession
from daybook_journal.sessions.snapshots import encode_activities
from daybook_journal.templates.services import template_steps, templates

sessions = cast(sa.Table, gm.PracticeSession.__table__)
instances = cast(sa.Table, gm.ActivityInstance.__table__)
values_ = cast(sa.Table, gm.MetricValue.__table__)
session_goals = gm.session_goals
S, IN, V = sessions.c, instances.c, values_.c
#: A session's own columns (not its snapshot: written here, read by :meth:`SessionService.get` and the page).
SESSION_COLUMNS = [c for c in sessions.c if c.name != "activities_json"]

CONSTRAINTS: dict[str, DomainError] = {
    "ck_sessions_ended_after_started": Invalid("ended_at", "must not be before started_at"),
    "ck_activity_instances_stop_after_start": Invalid("time_stop", "must not be before time_start"),
    "ck_activity_instances_stop_needs_start": Invalid(
        "time_start", "an instance with time_stop needs time_start"
    ),
    "ck_activity_instances_duration_non_negative": Invalid("duration_seconds", "must be >= 0"),
    "ck_metric_values_value_non_negative": Invalid("metrics", "a value must be >= 0"),
    "uq_metric_values_instance_metric_split": Invalid("metrics", "at most one value per (metric, split)"),
}


async def _execute(db: UserDb, stmt: sa.Executable, params: Any = None) -> sa.Result[*tuple[Any, ...]]:
    try:
        return (
            await db.session.execute(stmt, params) if params is not None else await db.session.execute(stmt)
        )
    except IntegrityError as exc:
        error = error_for_constraint(exc, CONSTRAINTS)
        if error is None:
            raise
        raise error from None


def _utc(value: datetime.datetime | None) -> datetime.datetime | None:
    return value.astimezone(datetime.UTC) if value is not None else None


def _seconds(start: datetime.datetime, stop: datetime.datetime) -> int:
    return int((stop - start).total_seconds())


class SessionService:
    def __init__(self, db: UserDb) -> None:
        self.db = db
        self.goals = GoalService(db)

    # -- reading -----------------------------------------------------------------------------

    async def _shape(self, rows: Sequence[SaRow]) -> list[s.Session]:
        """Sessions with their goal ids, instances and values (three more statements per page)."""
        ids = [r.id for r in rows]
        goal_ids: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
        by_session: dict[uuid.UUID, list[s.Instance]] = {i: [] for i in ids}
        if ids:
            c = session_goals.c
            for link in await self.db.session.execute(
                sa.select(c.session_id, c.goal_id)
                .where(c.session_id.in_(ids), c.user_id == self.db.user_id)
                .order_by(c.session_id, c.goal_id)
            ):
                goal_ids[link.session_id].append(link.goal_id)
            for instance in await self._instances(IN.session_id.in_(ids)):
                by_session[instance.session_id].append(instance)
        return [
            struct_from_row(s.Session, r, goal_ids=goal_ids[r.id], activities=by_session[r.id]) for r in rows
        ]

    async def _instances(self, where: sa.ColumnElement[bool]) -> list[s.Instance]:
        rows = (
            await self.db.session.execute(
                sa.select(instances)
                .where(where, IN.user_id == self.db.user_id)
                .order_by(IN.session_id, IN.sort_order, IN.id)
            )
        ).all()
        by_instance: dict[uuid.UUID, list[s.MetricValue]] = {r.id: [] for r in rows}
        if rows:
            for v in await self.db.session.execute(
                sa.select(V.id, V.instance_id, V.metric_id, V.split_id, V.value)
                .where(V.instance_id.in_(list(by_instance)), V.user_id == self.db.user_id)
                .order_by(V.instance_id, V.metric_id, V.split_id.nulls_first())
            ):
                by_instance[v.instance_id].append(
                    s.MetricValue(id=v.id, metric_id=v.metric_id, split_id=v.split_id, value=v.value)
                )
        return [struct_from_row(s.Instance, r, metrics=by_instance[r.id]) for r in rows]

    def _live(self, session_id: uuid.UUID) -> AnySelect:
        return sa.select(*SESSION_COLUMNS).where(
            S.id == session_id, S.user_id == self.db.user_id, S.deleted_at.is_(None)
        )

    async def _get_shaped(self, session_id: uuid.UUID) -> tuple[s.Session, int]:
        """The session with its instances read and shaped (whatever its snapshot)."""
        row = (await self.db.session.execute(self._live(session_id))).first()
        if row is None:
            raise NotFound("Session not found")
        return (await self._shape([row]))[0], row.version

    async def get(self, session_id: uuid.UUID) -> tuple[s.Session, int]:
        """The session as the API renders it: its ``activities`` are its stored snapshot when it
        has one (a :class:`~daybook_journal.sessions.reads.PageSession`: the same bytes, one
        statement fewer, no instance or value read), else read and shaped."""
        row = (
            await self.db.session.execute(
                sa.select(*SESSION_COLUMNS, S.activities_json).where(
                    S.id == session_id, S.user_id == self.db.user_id, S.deleted_at.is_(None)
                )
            )
        ).first()
        if row is None:
            raise NotFound("Session not found")
        if row.activities_json is None:
            return (await self._shape([row]))[0], row.version
        c = session_goals.c
        goal_ids = await self.db.session.execute(
            sa.select(c.goal_id)
            .where(c.session_id == session_id, c.user_id == self.db.user_id)
            .order_by(c.goal_id)
        )
        session = struct_from_row(
            PageSession, row, goal_ids=list(goal_ids.scalars()), activities=msgspec.Raw(row.activities_json)
        )
        return cast(s.Session, session), row.version

    # -- sessions ----------------------------------------------------------------------------

    async def _goals_of_tree(self, root_id: uuid.UUID, goal_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        wanted = list(dict.fromkeys(goal_ids))
        if wanted:
            g = goals.c
            found = set(
                (
                    await self.db.session.execute(
                        sa.select(g.id).where(
                            g.id.in_(wanted),
                            g.root_id == root_id,
                            g.user_id == self.db.user_id,
                            g.deleted_at.is_(None),
                        )
                    )
                ).scalars()
            )
            if found != set(wanted):
                raise Invalid("goal_ids", "every goal must be a live goal of this tree")
        return wanted

    async def _link_goals(self, session_id: uuid.UUID, goal_ids: Sequence[uuid.UUID]) -> None:
        await self.db.session.execute(
            sa.delete(session_goals).where(session_goals.c.session_id == session_id)
        )
        if goal_ids:
            await self.db.session.execute(
                sa.insert(session_goals),
                [{"session_id": session_id, "goal_id": g, "user_id": self.db.user_id} for g in goal_ids],
            )

    async def create(self, root_id: uuid.UUID, data: s.SessionCreate) -> tuple[s.Session, int]:
        await self.goals.live_root(root_id, lock=True)
        goal_ids = await self._goals_of_tree(root_id, data.goal_ids)
        steps: list[uuid.UUID] = []
        if data.template_id is not None:
            await require_in_tree(self.db, templates, data.template_id, root_id, "template_id", "template")
            steps = await template_steps(self.db, data.template_id)
        now = utcnow()
        session_id, insert = tree_row_insert(
            self.db,
            sessions,
            root_id,
            now,
            template_id=data.template_id,
            title=data.title,
            notes=data.notes,
            started_at=_utc(data.started_at) or now,
            ended_at=_utc(data.ended_at),
            activities_json=encode_activities([]),
        )
        await _execute(self.db, insert)
        await self._link_goals(session_id, goal_ids)
        if steps:
            live = await self._live_activities(root_id, steps)
            rows = [
                {
                    "id": new_id(),
                    "user_id": self.db.user_id,
                    "root_id": root_id,
                    "session_id": session_id,
                    "activity_id": activity_id,
                    "sort_order": position,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
                for position, activity_id in enumerate(steps)
                if activity_id in live
            ]
            if rows:
                await self.db.session.execute(sa.insert(instances), rows)
                # Their trigger set the snapshot to NULL; the first version stays the first.
                session, version = await self._get_shaped(session_id)
                await self.db.session.execute(
                    sa.update(sessions)
                    .where(S.id == session_id, S.user_id == self.db.user_id)
                    # (updated_at as is: the column's ORM onupdate would set it)
                    .values(activities_json=encode_activities(session.activities), updated_at=S.updated_at)
                )
                return session, version
        return await self.get(session_id)

    async def _live_activities(self, root_id: uuid.UUID, activity_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        a = activities.c
        rows = await self.db.session.execute(
            sa.select(a.id).where(
                a.id.in_(list(set(activity_ids))),
                a.root_id == root_id,
                a.user_id == self.db.user_id,
                a.deleted_at.is_(None),
            )
        )
        return set(rows.scalars())

    async def _lock(self, session_id: uuid.UUID, expected_version: ExpectedVersion = None) -> SaRow:
        return await lock_live(self.db, self._live(session_id), expected_version, "Session not found")

    async def _touch(self, session_id: uuid.UUID, **changes: Any) -> None:
        await _execute(self.db, new_version(self.db, sessions, session_id, **changes))

    async def _instances_changed(self, session_id: uuid.UUID) -> list[s.Instance]:
        """After a change to the (locked) session's instances or values: its instances as they are
        now, its next version and, in the same UPDATE, its snapshot of them."""
        found = await self._instances(IN.session_id == session_id)
        await self._touch(session_id, activities_json=encode_activities(found))
        return found

    async def update(
        self, session_id: uuid.UUID, data: s.SessionUpdate, expected_version: ExpectedVersion
    ) -> tuple[s.Session, int]:
        current = await self._lock(session_id, expected_version)
        changes: dict[str, Any] = {
            name: getattr(data, name)
            for name in ("title", "notes")
            if getattr(data, name) is not msgspec.UNSET
        }
        for name in ("started_at", "ended_at"):
            value = getattr(data, name)
            if value is not msgspec.UNSET:
                changes[name] = _utc(value)
        if data.goal_ids is not msgspec.UNSET:
            await self._link_goals(session_id, await self._goals_of_tree(current.root_id, data.goal_ids))
        await self._touch(session_id, **changes)
        return await self.get(session_id)

    async def delete(self, session_id: uuid.UUID, expected_version: ExpectedVersion) -> None:
        await self._lock(session_id, expected_version)
        await self._touch(session_id, deleted_at=utcnow())

    async def restore(self, session_id: uuid.UUID) -> tuple[s.Session, int]:
        await lock_trashed(self.db, sessions, session_id, "Session not in the trash")
        await self._touch(session_id, deleted_at=None)
        return await self.get(session_id)

    # -- instances ---------------------------------------------------------------------------

    async def _instance(self, session_id: uuid.UUID, instance_id: uuid.UUID) -> s.Instance:
        """The changed instance, read back with its session's others (for the snapshot)."""
        for instance in await self._instances_changed(session_id):
            if instance.id == instance_id:
                return instance
        raise NotFound("Activity instance not found")

    async def get_instance(self, session_id: uuid.UUID, instance_id: uuid.UUID) -> tuple[s.Instance, int]:
        """One instance of a live session of the caller's, with its version (``404`` otherwise,
        also when the session is in the trash)."""
        version = (
            await self.db.session.execute(
                sa.select(IN.version)
                .join(sessions, S.id == IN.session_id)
                .where(
                    IN.id == instance_id,
                    IN.session_id == session_id,
                    IN.user_id == self.db.user_id,
                    S.user_id == self.db.user_id,
                    S.deleted_at.is_(None),
                )
            )
        ).scalar()
        if version is None:
            raise NotFound("Activity instance not found")
        # Read only: not _instance, which writes the session's next version and snapshot.
        (instance,) = await self._instances(sa.and_(IN.id == instance_id, IN.session_id == session_id))
        return instance, version

    async def _checked_values(
        self, activity_id: uuid.UUID, items: Sequence[s.MetricValueIn]
    ) -> list[s.MetricValueIn]:
        """Values of the activity's live metrics and splits, one per (metric, split), else 422."""
        seen: set[tuple[uuid.UUID, uuid.UUID | None]] = set()
        for item in items:
            pair = (item.metric_id, item.split_id)
            if pair in seen:
                raise Invalid("metrics", "at most one value per (metric, split)")
            seen.add(pair)
        for table, wanted, label in (
            (metrics, {i.metric_id for i in items}, "metric_id"),
            (splits, {i.split_id for i in items if i.split_id is not None}, "split_id"),
        ):
            if not wanted:
                continue
            c = table.c
            found = set(
                (
                    await self.db.session.execute(
                        sa.select(c.id).where(
                            c.id.in_(list(wanted)),
                            c.activity_id == activity_id,
                            c.user_id == self.db.user_id,
                            c.deleted_at.is_(None),
                        )
                    )
                ).scalars()
            )
            if found != wanted:
                raise Invalid(
                    f"metrics.{label}", f"each {label} must be one of the activity's live definitions"
                )
        return list(items)

    async def _write_values(
        self, instance: SaRow | _Ref, items: Sequence[s.MetricValueIn], replace: bool
    ) -> None:
        if replace:
            await self.db.session.execute(
                sa.delete(values_).where(V.instance_id == instance.id, V.user_id == self.db.user_id)
            )
        if items:
            now = utcnow()
            await _execute(
                self.db,
                sa.insert(values_),
                [
                    {
                        "id": new_id(),
                        "user_id": self.db.user_id,
                        "root_id": instance.root_id,
                        "instance_id": instance.id,
                        "metric_id": item.metric_id,
                        "split_id": item.split_id,
                        "value": item.value,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for item in items
                ],
            )

    async def add_instance(self, session_id: uuid.UUID, data: s.InstanceCreate) -> tuple[s.Instance, int]:
        session = await self._lock(session_id)
        if data.activity_id not in await self._live_activities(session.root_id, [data.activity_id]):
            raise Invalid("activity_id", "no such live activity in this session's goal tree")
        items = await self._checked_values(data.activity_id, data.metrics)
        start, stop = _utc(data.time_start), _utc(data.time_stop)
        duration = data.duration_seconds
        if duration is None and start is not None and stop is not None and stop >= start:
            duration = _seconds(start, stop)
        now = utcnow()
        instance_id = new_id()
        await _execute(
            self.db,
            sa.insert(instances).values(
                id=instance_id,
                user_id=self.db.user_id,
                root_id=session.root_id,
                session_id=session_id,
                activity_id=data.activity_id,
                time_start=start,
                time_stop=stop,
                duration_seconds=duration,
                sort_order=data.sort_order,
                version=1,
                created_at=now,
                updated_at=now,
            ),
        )
        await self._write_values(_Ref(instance_id, session.root_id), items, replace=False)
        return await self._instance(session_id, instance_id), 1

    async def _lock_instance(
        self, session_id: uuid.UUID, instance_id: uuid.UUID, expected: ExpectedVersion = None
    ) -> SaRow:
        """The instance, its session locked (so changes to one session run one at a time and the
        version check is race-safe): ``404``, ``412`` when ``If-Match`` names another version of
        the instance (its own, not the session's), or the row."""
        await self._lock(session_id)
        row = (
            await self.db.session.execute(
                sa.select(instances).where(
                    IN.id == instance_id, IN.session_id == session_id, IN.user_id == self.db.user_id
                )
            )
        ).first()
        if row is None:
            raise NotFound("Activity instance not found")
        check_version(row.version, expected)
        return row

    async def _change_instance(
        self, session_id: uuid.UUID, instance_id: uuid.UUID, **changes: Any
    ) -> tuple[s.Instance, int]:
        """Write ``changes`` as the instance's next version: the instance and that version."""
        changed = await _execute(
            self.db,
            sa.update(instances)
            .where(IN.id == instance_id, IN.user_id == self.db.user_id)
            .values(**changes, version=IN.version + 1, updated_at=utcnow())
            .returning(IN.version),
        )
        version = int(changed.scalar_one())
        return await self._instance(session_id, instance_id), version

    async def update_instance(
        self,
        session_id: uuid.UUID,
        instance_id: uuid.UUID,
        data: s.InstanceUpdate,
        expected_version: ExpectedVersion,
    ) -> tuple[s.Instance, int]:
        current = await self._lock_instance(session_id, instance_id, expected_version)
        changes: dict[str, Any] = {}
        for name in ("time_start", "time_stop"):
            value = getattr(data, name)
            if value is not msgspec.UNSET:
                changes[name] = _utc(value)
        if data.sort_order is not msgspec.UNSET:
            changes["sort_order"] = data.sort_order
        if data.duration_seconds is not msgspec.UNSET:
            changes["duration_seconds"] = data.duration_seconds
        elif "time_start" in changes or "time_stop" in changes:
            start = changes.get("time_start", current.time_start)
            stop = changes.get("time_stop", current.time_stop)
            if start is not None and stop is not None and stop >= start:
                changes["duration_seconds"] = _seconds(start, stop)
        return await self._change_instance(session_id, instance_id, **changes)

    async def delete_instance(
        self, session_id: uuid.UUID, instance_id: uuid.UUID, expected_version: ExpectedVersion
    ) -> None:
        await self._lock_instance(session_id, instance_id, expected_version)
        await self.db.session.execute(
            sa.delete(instances).where(IN.id == instance_id, IN.user_id == self.db.user_id)
        )
        await self._instances_changed(session_id)

    async def start(
        self, session_id: uuid.UUID, instance_id: uuid.UUID, expected_version: ExpectedVersion = None
    ) -> tuple[s.Instance, int]:
        """Start the timer now (a stopped instance starts over); ``409`` if it is running."""
        current = await self._lock_instance(session_id, instance_id, expected_version)
        if current.time_start is not None and current.time_stop is None:
            raise Conflict("The timer is already running")
        return await self._change_instance(
            session_id, instance_id, time_start=utcnow(), time_stop=None, duration_seconds=None
        )

    async def stop(
        self, session_id: uuid.UUID, instance_id: uuid.UUID, expected_version: ExpectedVersion = None
    ) -> tuple[s.Instance, int]:
        """Stop the timer now and record the duration; ``409`` if it is not running."""
        current = await self._lock_instance(session_id, instance_id, expected_version)
        if current.time_start is None or current.time_stop is not None:
            raise Conflict("The timer is not running")
        now = max(utcnow(), current.time_start)
        return await self._change_instance(
            session_id, instance_id, time_stop=now, duration_seconds=_seconds(current.time_start, now)
        )

    async def replace_values(
        self,
        session_id: uuid.UUID,
        instance_id: uuid.UUID,
        items: Sequence[s.MetricValueIn],
        expected_version: ExpectedVersion = None,
    ) -> tuple[s.Instance, int]:
        current = await self._lock_instance(session_id, instance_id, expected_version)
        checked = await self._checked_values(current.activity_id, items)
        await self._write_values(current, checked, replace=True)
        return await self._change_instance(session_id, instance_id)


class _Ref(msgspec.Struct):
    id: uuid.UUID
    root_id: uuid.UUID
