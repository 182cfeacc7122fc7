"""The versioned soft-delete lifecycle every journal aggregate shares (entries, tasks; goals next).

A row is *live* while ``deleted_at`` is NULL. Every change bumps ``version`` (the ETag) and
``updated_at``. A change first locks the live row (``FOR UPDATE``, so the version check is
race-safe) and checks the version the caller expected (``If-Match``): 404 when there is no
live row of the caller's, 412 when the version moved. Delete moves the row to the trash;
restore brings it back; the trash lists deleted rows latest first, keyset-paginated on
``(deleted_at, id)``. Retention hard-deletes old trash (:mod:`daybook_journal.retention`); the
owner can hard-delete one trashed row or the whole trash sooner (``purge``, ``empty_trash``).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from daybook_common.errors import ExpectedVersion, NotFound, check_version
from daybook_common.pagination import decode_cursor, encode_cursor
from daybook_common.rls import UserDb
from daybook_journal.db.queries import param, utcnow
from daybook_journal.db.reads import CompiledQuery, UserReads, scoped
from daybook_journal.db.rows import AnySelect, SaRow


def mine(db: UserDb, table: sa.Table, row_id: uuid.UUID) -> sa.ColumnElement[bool]:
    """The caller's row ``row_id`` of ``table``."""
    c = table.c
    return sa.and_(c.id == row_id, c.user_id == db.user_id)


async def lock_live(db: UserDb, live: AnySelect, expected_version: ExpectedVersion, not_found: str) -> SaRow:
    """Lock the one row ``live`` selects (a live row of the caller's, ``version`` among its
    columns) for this transaction and check its version: 404 (``not_found``), 412 or the row."""
    row = (await db.session.execute(live.with_for_update())).first()
    if row is None:
        raise NotFound(not_found)
    check_version(row.version, expected_version)
    return row


def new_version(db: UserDb, table: sa.Table, row_id: uuid.UUID, **values: Any) -> sa.Update:
    """The UPDATE that writes ``values`` to the caller's (locked) row as its next version."""
    c = table.c
    return (
        sa.update(table)
        .where(mine(db, table, row_id))
        .values({"updated_at": utcnow(), **values, "version": c.version + 1})
    )


async def lock_trashed(db: UserDb, table: sa.Table, row_id: uuid.UUID, not_found: str) -> None:
    """Lock the caller's row of ``table`` that is in the trash, for this transaction; 404
    (``not_found``) when it is live, gone or another user's. For the aggregates that restore
    with their own write (their own conflict mapping) rather than :meth:`Lifecycle.restore`."""
    c = table.c
    stmt = sa.select(c.id).where(mine(db, table, row_id), c.deleted_at.is_not(None))
    if (await db.session.execute(stmt.with_for_update())).first() is None:
        raise NotFound(not_found)


class Lifecycle:
    """The lifecycle of one versioned, soft-deletable, user-owned ``table``.

    ``columns`` are what a read returns (the aggregate's row, ``version`` among them);
    ``not_found`` is the 404 detail, e.g. "Entry not found".
    """

    def __init__(self, table: sa.Table, columns: Sequence[Any], not_found: str) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.not_found = not_found
        self._trash_queries = {after: self._build_trash_query(after) for after in (False, True)}

    async def get_live(self, db: UserDb, row_id: uuid.UUID) -> SaRow:
        """The live row (``columns``), or 404."""
        stmt = sa.select(*self.columns).where(mine(db, self.table, row_id), self.table.c.deleted_at.is_(None))
        row = (await db.session.execute(stmt)).first()
        if row is None:
            raise NotFound(self.not_found)
        return row

    async def lock(
        self, db: UserDb, row_id: uuid.UUID, expected_version: ExpectedVersion, *columns: Any
    ) -> SaRow:
        """Lock the live row for this transaction and check its version: 404, 412 or the row
        (``version`` and ``columns``)."""
        stmt = sa.select(self.table.c.version, *columns).where(
            mine(db, self.table, row_id), self.table.c.deleted_at.is_(None)
        )
        return await lock_live(db, stmt, expected_version, self.not_found)

    async def change(self, db: UserDb, row_id: uuid.UUID, **values: Any) -> None:
        """Write ``values`` to the (locked) row as a new version."""
        await db.session.execute(new_version(db, self.table, row_id, **values))

    async def delete(self, db: UserDb, row_id: uuid.UUID, expected_version: ExpectedVersion) -> int:
        """Move the live row to the trash (restorable until retention purges it); its new version."""
        row = await self.lock(db, row_id, expected_version)
        now = utcnow()
        await self.change(db, row_id, deleted_at=now, updated_at=now)
        return int(row.version) + 1

    async def restore(self, db: UserDb, row_id: uuid.UUID) -> int | None:
        """Bring the row back from the trash; its new version, or ``None`` when it was not in the
        trash (restoring a live row changes nothing)."""
        restored = await db.session.execute(
            sa.update(self.table)
            .where(mine(db, self.table, row_id), self.table.c.deleted_at.is_not(None))
            .values(deleted_at=None, version=self.table.c.version + 1, updated_at=utcnow())
            .returning(self.table.c.version)
        )
        version = restored.scalar_one_or_none()
        return None if version is None else int(version)

    async def purge(self, db: UserDb, row_id: uuid.UUID) -> None:
        """Hard-delete one row of the caller's trash: 404 when it is live, gone or another user's."""
        c = self.table.c
        gone = await db.session.execute(
            sa.delete(self.table)
            .where(mine(db, self.table, row_id), c.deleted_at.is_not(None))
            .returning(c.id)
        )
        if gone.first() is None:
            raise NotFound(self.not_found)

    async def empty_trash(self, db: UserDb) -> None:
        """Hard-delete every row of the caller's trash (links and revisions go by cascade)."""
        c = self.table.c
        await db.session.execute(
            sa.delete(self.table).where(c.user_id == db.user_id, c.deleted_at.is_not(None))
        )

    def trash_query(self, cursor: str | None, limit: int) -> tuple[CompiledQuery, dict[str, Any]]:
        """The trash page's statement (one row past ``limit``) and its values."""
        values: dict[str, Any] = {"limit": limit + 1}
        if cursor is not None:
            values["after_key"], values["after_id"] = decode_cursor(cursor, (datetime.datetime, uuid.UUID))
        return self._trash_queries[cursor is not None], values

    async def trash_page(
        self, reads: UserReads, cursor: str | None, limit: int
    ) -> tuple[Sequence[Any], str | None]:
        """A trash page's rows (on the read pool) and the cursor after them (``None`` on the last page)."""
        query, values = self.trash_query(cursor, limit)
        rows = await reads.fetch(query, **values)
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(last["deleted_at"], last["id"])

    def _build_trash_query(self, after: bool) -> CompiledQuery:
        def build(user_id: Any) -> AnySelect:
            c = self.table.c
            stmt = sa.select(*self.columns).where(c.user_id == user_id, c.deleted_at.is_not(None))
            if after:
                stmt = stmt.where(
                    sa.tuple_(c.deleted_at, c.id)
                    < sa.tuple_(param("after_key", c.deleted_at), param("after_id", c.id))
                )
            return stmt.order_by(c.deleted_at.desc(), c.id.desc()).limit(param("limit", sa.Integer))

        return CompiledQuery.of(scoped(build, ("deleted_at DESC", "id DESC")))
