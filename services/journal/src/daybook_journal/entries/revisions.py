"""Entry revisions: every change of an entry first saves the version it replaces.

Written by :meth:`EntryService.update` in the transaction of the change, under the entry's row
lock, by one ``INSERT … SELECT`` of the current row (so nothing is read into Python).  Restoring
a revision is an ordinary update to that revision's fields (tags that were deleted since are
left out), so it saves the current version as a revision too.  Revisions go with their entry
(cascade) and are forgotten ``JOURNAL_REVISION_RETENTION_DAYS`` after they were replaced
(:mod:`daybook_journal.retention`).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import sqlalchemy as sa

from daybook_common.errors import NotFound
from daybook_common.pagination import BigInt, decode_cursor, page_of
from daybook_common.rls import UserDb
from daybook_journal.db.models import entry_revisions
from daybook_journal.db.queries import entries, utcnow
from daybook_journal.entries import schemas as s
from daybook_journal.entries.tag_lists import decode_tag_list

_COPIED = (
    "title",
    "content",
    "entry_date",
    "ciphertext",
    "wrapped_key",
    "iv",
    "wrap_iv",
    "secret_tag_id",
    "tags",
)
_r = entry_revisions.c
#: Versions are BIGINT.
MAX_REVISION = 2**63 - 1


async def save_revision(db: UserDb, entry_id: uuid.UUID) -> None:
    """Copy the entry's current version into ``entry_revisions`` (call it with the row locked,
    before the change)."""
    e = entries.c
    source = sa.select(
        e.id,
        e.version,
        e.user_id,
        *(e[name] for name in _COPIED),
        e.updated_at,
        sa.literal(utcnow(), type_=_r.replaced_at.type),
    ).where(e.id == entry_id, e.user_id == db.user_id)
    columns = ["entry_id", "revision", "user_id", *_COPIED, "saved_at", "replaced_at"]
    await db.session.execute(sa.insert(entry_revisions).from_select(columns, source))


def _revision(row: Any) -> s.Revision:
    encrypted = (
        None
        if row.ciphertext is None
        else s.Encrypted(row.ciphertext, row.wrapped_key, row.iv, row.wrap_iv, row.secret_tag_id)
    )
    return s.Revision(
        revision=row.revision,
        title=row.title,
        content=row.content,
        encrypted=encrypted,
        tags=decode_tag_list(row.tags),
        entry_date=row.entry_date,
        saved_at=row.saved_at,
    )


_COLUMNS = (
    _r.revision,
    *(_r[name] for name in _COPIED if name != "tags"),
    sa.cast(_r.tags, sa.Text).label("tags"),
    _r.saved_at,
)


class Revisions:
    """Reads of one user's entry revisions, in the request's transaction."""

    def __init__(self, db: UserDb) -> None:
        self.db = db

    async def _require_live_entry(self, entry_id: uuid.UUID) -> None:
        e = entries.c
        live = sa.select(e.id).where(e.id == entry_id, e.user_id == self.db.user_id, e.deleted_at.is_(None))
        if (await self.db.session.execute(live)).first() is None:
            raise NotFound("Entry not found")

    async def page(
        self, entry_id: uuid.UUID, cursor: str | None, limit: int
    ) -> tuple[list[s.Revision], str | None]:
        """The live entry's revisions, newest first (404 for a trashed, unknown or other user's entry)."""
        await self._require_live_entry(entry_id)
        stmt = sa.select(*_COLUMNS).where(_r.entry_id == entry_id, _r.user_id == self.db.user_id)
        if cursor is not None:
            (before,) = decode_cursor(cursor, (BigInt,))
            stmt = stmt.where(_r.revision < before)
        rows = list((await self.db.session.execute(stmt.order_by(_r.revision.desc()).limit(limit + 1))).all())
        page, next_cursor = page_of(rows, limit, key=lambda row: (row.revision,))
        return [_revision(row) for row in page], next_cursor

    async def get(self, entry_id: uuid.UUID, revision: int) -> s.Revision:
        """One revision of the caller's live entry, or 404 (also for any number no revision can have)."""
        await self._require_live_entry(entry_id)
        if not 1 <= revision <= MAX_REVISION:
            raise NotFound("Revision not found")
        stmt = sa.select(*_COLUMNS).where(
            _r.entry_id == entry_id, _r.user_id == self.db.user_id, _r.revision == revision
        )
        row = (await self.db.session.execute(stmt)).first()
        if row is None:
            raise NotFound("Revision not found")
        return _revision(row)


def as_update(revision: s.Revision, live_tag_ids: list[uuid.UUID]) -> s.EntryUpdate:
    """The update that makes ``revision`` current again (only the tags that still exist)."""
    return s.EntryUpdate(
        entry_date=revision.entry_date.astimezone(datetime.UTC),
        title=revision.title,
        content=revision.content,
        encrypted=revision.encrypted,
        tag_ids=live_tag_ids,
    )
