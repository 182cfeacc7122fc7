"""Tags: business rules and queries (one user's tags; names unique case-insensitively)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from daybook_common.errors import Conflict, ExpectedVersion, Invalid, NotFound, check_version
from daybook_common.export import ExportKind
from daybook_common.pagination import decode_cursor, encode_cursor
from daybook_common.rls import UserDb
from daybook_journal.db.errors import constraint_of
from daybook_journal.db.models import name_key
from daybook_journal.db.queries import (
    any_of,
    dedupe,
    new_id,
    param,
    tags,
    task_tags,
    tasks,
    utcnow,
)
from daybook_journal.db.reads import CompiledQuery, UserReads, scoped
from daybook_journal.db.rows import AnySelect, Record, SaRow
from daybook_journal.entries.tag_lists import check_all_found, lock_entries_carrying, refresh_tag_lists
from daybook_journal.tags import schemas as s

_COLUMNS = (tags.c.id, tags.c.user_id, tags.c.name, tags.c.color, tags.c.created_at, tags.c.updated_at)
_UNIQUE_NAME = "uq_tags_user_id_name_key"


def tag_conflict() -> Conflict:
    return Conflict("You already have a tag with this name")


def _tag(row: Record | RowMapping) -> s.Tag:
    return s.Tag(
        id=row["id"],
        user_id=row["user_id"],
        name=row["name"],
        color=row["color"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def owned_tags(
    db: UserDb, tag_ids: Sequence[uuid.UUID], field: str = "tag_ids", lock: bool = False
) -> list[SaRow]:
    """Rows ``(id, name, color)`` of these tags, all the caller's, or a 422 naming ``field``.

    Another user's tag id is reported exactly like a made-up one: it does not exist for you.
    ``lock``: hold them ``FOR KEY SHARE`` (what linking them takes anyway) from now on.
    """
    ids = dedupe(tag_ids)
    if not ids:
        return []
    stmt = sa.select(tags.c.id, tags.c.name, tags.c.color).where(
        tags.c.user_id == db.user_id, any_of(tags.c.id, ids)
    )
    if lock:
        # read=True: SQLAlchemy renders key_share alone as FOR NO KEY UPDATE, which would make
        # every tagged create of a user wait for the previous one to commit.
        stmt = stmt.order_by(tags.c.id).with_for_update(read=True, key_share=True)
    rows = list((await db.session.execute(stmt)).all())
    check_all_found(ids, {row.id for row in rows}, field)
    rows.sort(key=lambda row: (row.name.lower(), row.id))
    return rows


async def lock_new_tags(db: UserDb, tag_ids: Sequence[uuid.UUID]) -> tuple[list[SaRow], Invalid | None]:
    """An update's new tags, locked (``FOR KEY SHARE``, id order) before the row that will carry them.

    A tag rename or delete locks its tag, then the entries/tasks carrying it (in id order), so
    taking the tags first cannot deadlock with either.  An unknown tag's 422 is returned, not
    raised: the caller raises it after its row's own checks (404/412 come first, as always).
    """
    try:
        return await owned_tags(db, tag_ids, lock=True), None
    except Invalid as exc:
        return [], exc


async def replace_links(
    db: UserDb,
    link: sa.Table,
    owner_column: str,
    owner_id: uuid.UUID,
    tag_ids: Sequence[uuid.UUID],
    new_owner: bool = False,
) -> None:
    """Make the owner's tag set exactly ``tag_ids`` (already checked to be the caller's)."""
    if not new_owner:
        owner = link.c[owner_column]
        await db.session.execute(sa.delete(link).where(owner == owner_id, link.c.user_id == db.user_id))
    ids = dedupe(tag_ids)
    if ids:
        await db.session.execute(
            sa.insert(link).values(
                [{owner_column: owner_id, "tag_id": t, "user_id": db.user_id} for t in ids]
            )
        )


@functools.cache
def _list_query(after: bool) -> CompiledQuery:
    """``GET /tags``: by name, case-insensitively (names are unique that way, so the name is the key)."""

    def build(user_id: Any) -> AnySelect:
        sort_name = name_key(tags.c.name)
        stmt = sa.select(*_COLUMNS, sort_name.label("sort_name")).where(tags.c.user_id == user_id)
        if after:
            stmt = stmt.where(sort_name > param("after_name", sa.Text))
        return stmt.order_by(sort_name).limit(param("limit", sa.Integer))

    return CompiledQuery.of(scoped(build, ("sort_name",)))


class TagQueries:
    """The list endpoint's read (one statement on the read pool)."""

    def __init__(self, reads: UserReads) -> None:
        self.reads = reads

    def list_query(self, cursor: str | None, limit: int) -> tuple[CompiledQuery, dict[str, Any]]:
        values: dict[str, Any] = {"limit": limit + 1}
        if cursor is not None:
            (values["after_name"],) = decode_cursor(cursor, (str,))
        return _list_query(cursor is not None), values

    async def page(self, cursor: str | None, limit: int) -> tuple[list[s.Tag], str | None]:
        query, values = self.list_query(cursor, limit)
        rows = await self.reads.fetch(query, **values)
        next_cursor = encode_cursor(rows[limit - 1]["sort_name"]) if len(rows) > limit else None
        return [_tag(row) for row in rows[:limit]], next_cursor


class TagService:
    """Single-tag reads and every change, in the request's transaction (RLS bound to the caller)."""

    def __init__(self, db: UserDb) -> None:
        self.db = db

    async def get(self, tag_id: uuid.UUID) -> tuple[s.Tag, int]:
        stmt = sa.select(*_COLUMNS, tags.c.version).where(
            tags.c.id == tag_id, tags.c.user_id == self.db.user_id
        )
        row = (await self.db.session.execute(stmt)).first()
        if row is None:
            raise NotFound("Tag not found")
        return _tag(row._mapping), row.version

    async def create(self, data: s.TagCreate) -> tuple[s.Tag, int]:
        now = utcnow()
        tag_id = new_id()
        values = {
            "id": tag_id,
            "user_id": self.db.user_id,
            "name": data.name,
            "color": data.color,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        stmt = (
            pg_insert(tags)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[tags.c.user_id, name_key(tags.c.name)])
            .returning(tags.c.id)
        )
        if (await self.db.session.execute(stmt)).first() is None:
            raise tag_conflict()
        tag = s.Tag(
            id=tag_id,
            user_id=self.db.user_id,
            name=data.name,
            color=data.color,
            created_at=now,
            updated_at=now,
        )
        return tag, 1

    async def _lock(self, tag_id: uuid.UUID, expected_version: ExpectedVersion) -> int:
        stmt = (
            sa.select(tags.c.version)
            .where(tags.c.id == tag_id, tags.c.user_id == self.db.user_id)
            .with_for_update()
        )
        version = (await self.db.session.execute(stmt)).scalar_one_or_none()
        if version is None:
            raise NotFound("Tag not found")
        check_version(version, expected_version)
        return int(version)

    async def update(
        self, tag_id: uuid.UUID, data: s.TagUpdate, expected_version: ExpectedVersion = None
    ) -> tuple[s.Tag, int]:
        await self._lock(tag_id, expected_version)
        values = {k: v for k, v in (("name", data.name), ("color", data.color)) if isinstance(v, str)}
        if not values:
            return await self.get(tag_id)
        stmt = (
            sa.update(tags)
            .where(tags.c.id == tag_id, tags.c.user_id == self.db.user_id)
            .values(**values, version=tags.c.version + 1, updated_at=utcnow())
            .returning(*_COLUMNS, tags.c.version)
        )
        try:
            row = (await self.db.session.execute(stmt)).one()
        except IntegrityError as exc:
            if constraint_of(exc) == _UNIQUE_NAME:
                raise tag_conflict() from None
            raise
        # The entries' copies of the tag list; their version (ETag) stays: it tracks the entry.
        await refresh_tag_lists(self.db, await lock_entries_carrying(self.db, tag_id), bump_version=False)
        return _tag(row._mapping), row.version

    async def _bump_carrying_tasks(self, tag_id: uuid.UUID) -> None:
        """Lock the tasks (live or trashed) carrying the locked tag, in id order, and bump their version.

        The same order as a task edit (its new tags, then the task), so the two cannot deadlock.
        """
        uid = self.db.user_id
        carriers = sa.select(task_tags.c.task_id).where(
            task_tags.c.tag_id == tag_id, task_tags.c.user_id == uid
        )
        lock = (
            sa.select(tasks.c.id)
            .where(tasks.c.user_id == uid, tasks.c.id.in_(carriers))
            .order_by(tasks.c.id)
            .with_for_update()
        )
        locked = list((await self.db.session.execute(lock)).scalars())
        if not locked:
            return
        # A fresh snapshot: a task whose edit (waited out above) dropped the tag is left alone.
        await self.db.session.execute(
            sa.update(tasks)
            .where(tasks.c.user_id == uid, any_of(tasks.c.id, locked), tasks.c.id.in_(carriers))
            .values(version=tasks.c.version + 1, updated_at=utcnow())
        )

    async def delete(self, tag_id: uuid.UUID, expected_version: ExpectedVersion = None) -> None:
        """Delete the tag; it leaves every entry and task that carried it (their ETags change)."""
        await self._lock(tag_id, expected_version)
        uid = self.db.user_id
        carrying_entries = await lock_entries_carrying(self.db, tag_id)
        await self._bump_carrying_tasks(tag_id)
        # The links go with the tag (ON DELETE CASCADE); then the entries' lists lose it.
        await self.db.session.execute(sa.delete(tags).where(tags.c.id == tag_id, tags.c.user_id == uid))
        await refresh_tag_lists(self.db, carrying_entries, bump_version=True)


#: The caller's tags for the account export, the API's shape, oldest first.
EXPORT = ExportKind(
    "tags",
    lambda user_id: sa.select(*_COLUMNS).where(tags.c.user_id == user_id).order_by(tags.c.id),
    lambda row: _tag(row._mapping),
)
