"""Session templates: rules and queries (no Litestar).  Deleting one is a hard delete; sessions
made from it keep their instances and lose only the ``template_id`` link."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from daybook_common.errors import Conflict, ExpectedVersion, Invalid, NotFound, check_version
from daybook_common.pagination import decode_cursor, encode_cursor
from daybook_common.rls import UserDb
from daybook_journal.activities.services import activities
from daybook_journal.db import goal_models as gm
from daybook_journal.db.errors import constraint_of
from daybook_journal.db.models import name_key
from daybook_journal.db.queries import new_id, utcnow
from daybook_journal.db.rows import SaRow
from daybook_journal.goals.services import GoalService
from daybook_journal.templates import schemas as s

templates = cast(sa.Table, gm.SessionTemplate.__table__)
steps = gm.template_activities
t = templates.c


async def live_activities_of_tree(
    db: UserDb, root_id: uuid.UUID, activity_ids: Sequence[uuid.UUID], field: str = "activity_ids"
) -> None:
    """Every id must be a live activity of the tree (``422`` naming ``field`` otherwise)."""
    wanted = set(activity_ids)
    if not wanted:
        return
    a = activities.c
    found = set(
        (
            await db.session.execute(
                sa.select(a.id).where(
                    a.id.in_(list(wanted)),
                    a.root_id == root_id,
                    a.user_id == db.user_id,
                    a.deleted_at.is_(None),
                )
            )
        ).scalars()
    )
    if found != wanted:
        raise Invalid(field, "every activity must be a live activity of this goal tree")


async def template_steps(db: UserDb, template_id: uuid.UUID) -> list[uuid.UUID]:
    c = steps.c
    rows = await db.session.execute(
        sa.select(c.activity_id)
        .where(c.template_id == template_id, c.user_id == db.user_id)
        .order_by(c.position)
    )
    return list(rows.scalars())


class TemplateService:
    def __init__(self, db: UserDb) -> None:
        self.db = db
        self.goals = GoalService(db)

    async def _write_steps(
        self, template_id: uuid.UUID, root_id: uuid.UUID, activity_ids: Sequence[uuid.UUID]
    ) -> None:
        await self.db.session.execute(sa.delete(steps).where(steps.c.template_id == template_id))
        if activity_ids:
            await self.db.session.execute(
                sa.insert(steps),
                [
                    {
                        "template_id": template_id,
                        "position": position,
                        "activity_id": activity_id,
                        "root_id": root_id,
                        "user_id": self.db.user_id,
                    }
                    for position, activity_id in enumerate(activity_ids)
                ],
            )

    async def _execute(self, stmt: sa.Executable) -> None:
        try:
            await self.db.session.execute(stmt)
        except IntegrityError as exc:
            if constraint_of(exc) == "uq_session_templates_root_id_name_key":
                raise Conflict("This tree already has a template of that name") from None
            raise

    async def create(self, root_id: uuid.UUID, data: s.TemplateCreate) -> tuple[s.Template, int]:
        await self.goals.live_root(root_id, lock=True)
        await live_activities_of_tree(self.db, root_id, data.activity_ids)
        now = utcnow()
        template_id = new_id()
        await self._execute(
            sa.insert(templates).values(
                id=template_id,
                user_id=self.db.user_id,
                root_id=root_id,
                goal_id=root_id,
                name=data.name,
                version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await self._write_steps(template_id, root_id, data.activity_ids)
        return await self.get(template_id)

    def _template(self, row: SaRow, activity_ids: list[uuid.UUID]) -> s.Template:
        return s.Template(
            id=row.id,
            user_id=row.user_id,
            root_id=row.root_id,
            name=row.name,
            activity_ids=activity_ids,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    async def _row(self, template_id: uuid.UUID, lock: bool = False) -> SaRow:
        stmt = sa.select(templates).where(t.id == template_id, t.user_id == self.db.user_id)
        row = (await self.db.session.execute(stmt.with_for_update() if lock else stmt)).first()
        if row is None:
            raise NotFound("Template not found")
        return row

    async def get(self, template_id: uuid.UUID) -> tuple[s.Template, int]:
        row = await self._row(template_id)
        return self._template(row, await template_steps(self.db, template_id)), row.version

    async def page(
        self, root_id: uuid.UUID, cursor: str | None, limit: int
    ) -> tuple[list[s.Template], str | None]:
        """A tree's templates by name (case-insensitive)."""
        await self.goals.live_root(root_id)
        key = name_key(t.name)
        stmt = sa.select(templates, key.label("name_key")).where(
            t.root_id == root_id, t.user_id == self.db.user_id
        )
        if cursor is not None:
            name, last = decode_cursor(cursor, (str, uuid.UUID))
            stmt = stmt.where(sa.tuple_(key, t.id) > sa.tuple_(sa.literal(name), sa.literal(last)))
        rows = (await self.db.session.execute(stmt.order_by(key, t.id).limit(limit + 1))).all()
        next_cursor = (
            encode_cursor(rows[limit - 1].name_key, rows[limit - 1].id) if len(rows) > limit else None
        )
        page = rows[:limit]
        ids = [r.id for r in page]
        by_template: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
        if ids:
            c = steps.c
            for step in await self.db.session.execute(
                sa.select(c.template_id, c.activity_id)
                .where(c.template_id.in_(ids), c.user_id == self.db.user_id)
                .order_by(c.template_id, c.position)
            ):
                by_template[step.template_id].append(step.activity_id)
        return [self._template(r, by_template[r.id]) for r in page], next_cursor

    async def update(
        self, template_id: uuid.UUID, data: s.TemplateUpdate, expected_version: ExpectedVersion
    ) -> tuple[s.Template, int]:
        row = await self._row(template_id, lock=True)
        check_version(row.version, expected_version)
        values: dict[str, Any] = {}
        if data.name is not msgspec.UNSET:
            values["name"] = data.name
        if data.activity_ids is not msgspec.UNSET:
            await live_activities_of_tree(self.db, row.root_id, data.activity_ids)
            await self._write_steps(template_id, row.root_id, data.activity_ids)
        if values or data.activity_ids is not msgspec.UNSET:
            await self._execute(
                sa.update(templates)
                .where(t.id == template_id, t.user_id == self.db.user_id)
                .values(**values, version=t.version + 1, updated_at=utcnow())
            )
        return await self.get(template_id)

    async def delete(self, template_id: uuid.UUID, expected_version: ExpectedVersion) -> None:
        row = await self._row(template_id, lock=True)
        check_version(row.version, expected_version)
        await self.db.session.execute(
            sa.delete(templates).where(t.id == template_id, t.user_id == self.db.user_id)
        )
