"""Journal entries: business rules and queries.

The list is the hot path: one statement on the read pool (see
:mod:`daybook_journal.db.reads`), keyset-paginated on ``(entry_date, id)`` (newest
first) over the partial index ``(user_id, entry_date DESC, id DESC) WHERE deleted_at
IS NULL``, each entry's tags read from its own ``tags`` column (a jsonb copy of its
links, kept by the writes: no join, no N+1, no second round trip).  Creates run on that pool
too (:mod:`daybook_journal.entries.writes`); other writes and single reads go through the
request's session/transaction.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from daybook_common.errors import ExpectedVersion, Invalid
from daybook_common.export import ExportKind
from daybook_common.pagination import decode_cursor, encode_cursor
from daybook_common.rls import UserDb
from daybook_journal.db.errors import constraint_of
from daybook_journal.db.queries import (
    dedupe,
    entries,
    entry_tags,
    matches_words,
    param,
    tags,
)
from daybook_journal.db.reads import CompiledQuery, UserReads, caller, scoped
from daybook_journal.db.rows import AnySelect, Record, Row, SaRow
from daybook_journal.entries import schemas as s
from daybook_journal.entries.revisions import Revisions, as_update, save_revision
from daybook_journal.entries.tag_lists import decode_tag_list, tag_list_of
from daybook_journal.lifecycle import Lifecycle
from daybook_journal.tags.services import lock_new_tags, replace_links

_COLUMNS = (
    entries.c.id,
    entries.c.user_id,
    entries.c.title,
    entries.c.content,
    entries.c.entry_date,
    entries.c.ciphertext,
    entries.c.wrapped_key,
    entries.c.iv,
    entries.c.wrap_iv,
    entries.c.secret_tag_id,
    entries.c.created_at,
    entries.c.updated_at,
    entries.c.deleted_at,
    entries.c.version,
    # The denormalised list (see ``tag_list_of``), as text for msgspec to decode.
    sa.cast(entries.c.tags, sa.Text).label("tags"),
)


def _encrypted_values(encrypted: s.Encrypted | None) -> dict[str, bytes | None]:
    if encrypted is None:
        return {"ciphertext": None, "wrapped_key": None, "iv": None, "wrap_iv": None, "secret_tag_id": None}
    return {
        "ciphertext": encrypted.ciphertext,
        "wrapped_key": encrypted.wrapped_key,
        "iv": encrypted.iv,
        "wrap_iv": encrypted.wrap_iv,
        "secret_tag_id": encrypted.secret_tag_id,
    }


def exactly_one() -> Invalid:
    return Invalid("content", "give exactly one of content (plain) or encrypted")


@dataclass(frozen=True)
class EntryFilters:
    date_from: datetime.datetime | None = None
    date_to: datetime.datetime | None = None
    #: The entry must carry every one of these tags.
    tag_ids: tuple[uuid.UUID, ...] = ()
    q: str | None = None


@functools.cache
def _list_query(after: bool, date_from: bool, date_to: bool, tagged: bool, searched: bool) -> CompiledQuery:
    """``GET /entries`` for one combination of optional filters (compiled once)."""

    def build(user_id: Any) -> AnySelect:
        e = entries.c
        stmt = sa.select(*_COLUMNS).where(e.user_id == user_id, e.deleted_at.is_(None))
        if after:
            stmt = stmt.where(
                sa.tuple_(e.entry_date, e.id)
                < sa.tuple_(param("after_date", e.entry_date), param("after_id", e.id))
            )
        if date_from:
            stmt = stmt.where(e.entry_date >= param("date_from", e.entry_date))
        if date_to:
            stmt = stmt.where(e.entry_date <= param("date_to", e.entry_date))
        if tagged:
            links = entry_tags.c
            carrying_all = (
                sa.select(links.entry_id)
                .where(links.user_id == caller(), links.tag_id == sa.any_(param("tag_ids", ARRAY(sa.Uuid))))
                .group_by(links.entry_id)
                .having(sa.func.count() == param("tag_count", sa.Integer))
            )
            stmt = stmt.where(e.id.in_(carrying_all))
        if searched:
            stmt = stmt.where(matches_words(e.title, e.content, param("q", sa.Text)))
        return stmt.order_by(e.entry_date.desc(), e.id.desc()).limit(param("limit", sa.Integer))

    return CompiledQuery.of(scoped(build, ("entry_date DESC", "id DESC")))


def _entry(row: Row) -> s.Entry:
    """A row of ``_COLUMNS`` (an asyncpg Record or a SQLAlchemy Row) → the API shape.

    Unpacked by position: a list page builds up to a hundred of these per request, and name
    lookups on a record cost more than the rest.
    """
    (
        entry_id,
        user_id,
        title,
        content,
        entry_date,
        ciphertext,
        wrapped_key,
        iv,
        wrap_iv,
        secret_tag_id,
        created_at,
        updated_at,
        deleted_at,
        _version,
        tags_json,
    ) = row
    return s.Entry(
        entry_id,
        user_id,
        title,
        content,
        entry_date,
        decode_tag_list(tags_json),
        None if ciphertext is None else s.Encrypted(ciphertext, wrapped_key, iv, wrap_iv, secret_tag_id),
        created_at,
        updated_at,
        deleted_at,
    )


# _entry() unpacks rows by position and builds Entry by position: fail at import, not with wrong JSON.
if tuple(column.key for column in _COLUMNS) != (
    "id",
    "user_id",
    "title",
    "content",
    "entry_date",
    "ciphertext",
    "wrapped_key",
    "iv",
    "wrap_iv",
    "secret_tag_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "version",
    "tags",
) or s.Entry.__struct_fields__ != (
    "id",
    "user_id",
    "title",
    "content",
    "entry_date",
    "tags",
    "encrypted",
    "created_at",
    "updated_at",
    "deleted_at",
):
    raise RuntimeError("_entry() no longer matches _COLUMNS or Entry")


#: Get live, lock and check the version, delete, restore, trash page.
LIFECYCLE = Lifecycle(entries, _COLUMNS, "Entry not found")


def _page(rows: Sequence[Record], limit: int) -> tuple[list[s.Entry], str | None]:
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last["entry_date"], last["id"])
        rows = rows[:limit]
    return [_entry(row) for row in rows], next_cursor


class EntryQueries:
    """The list endpoints' reads (one statement each on the read pool)."""

    def __init__(self, reads: UserReads) -> None:
        self.reads = reads

    @staticmethod
    def list_query(
        filters: EntryFilters, cursor: str | None, limit: int
    ) -> tuple[CompiledQuery, dict[str, Any]]:
        """The statement behind ``GET /entries`` and its values (the EXPLAIN test runs this very one).

        Static: it builds SQL only, so the benchmarks can take it without a read pool."""
        values: dict[str, Any] = {"limit": limit + 1}
        if cursor is not None:
            values["after_date"], values["after_id"] = decode_cursor(cursor, (datetime.datetime, uuid.UUID))
        if filters.date_from is not None:
            values["date_from"] = filters.date_from
        if filters.date_to is not None:
            values["date_to"] = filters.date_to
        if filters.tag_ids:
            wanted = dedupe(filters.tag_ids)
            values["tag_ids"], values["tag_count"] = wanted, len(wanted)
        if filters.q:
            values["q"] = filters.q
        query = _list_query(
            cursor is not None,
            filters.date_from is not None,
            filters.date_to is not None,
            bool(filters.tag_ids),
            bool(filters.q),
        )
        return query, values

    async def page(
        self, filters: EntryFilters, cursor: str | None, limit: int
    ) -> tuple[list[s.Entry], str | None]:
        query, values = self.list_query(filters, cursor, limit)
        return _page(await self.reads.fetch(query, **values), limit)

    async def trash(self, cursor: str | None, limit: int) -> tuple[list[s.Entry], str | None]:
        rows, next_cursor = await LIFECYCLE.trash_page(self.reads, cursor, limit)
        return [_entry(row) for row in rows], next_cursor


class EntryService:
    """Single-entry reads and every change, in the request's transaction (RLS bound to the caller)."""

    def __init__(self, db: UserDb) -> None:
        self.db = db

    async def get(self, entry_id: uuid.UUID) -> tuple[s.Entry, int]:
        row = await LIFECYCLE.get_live(self.db, entry_id)
        return _entry(row), row.version

    # -- changes --------------------------------------------------------------------------

    async def update(
        self, entry_id: uuid.UUID, data: s.EntryUpdate, expected_version: ExpectedVersion = None
    ) -> tuple[s.Entry, int]:
        tags_changed = data.tag_ids is not msgspec.UNSET
        tag_rows: list[SaRow] = []
        unknown_tag: Invalid | None = None
        if data.tag_ids is not msgspec.UNSET:  # (tags_changed, spelled so mypy narrows tag_ids)
            tag_rows, unknown_tag = await lock_new_tags(self.db, data.tag_ids)
        e = entries.c
        current = await LIFECYCLE.lock(
            self.db,
            entry_id,
            expected_version,
            e.content.is_not(None).label("plain"),
            e.ciphertext.is_not(None).label("sealed"),
        )
        values: dict[str, Any] = {}
        if data.entry_date is not msgspec.UNSET:
            values["entry_date"] = data.entry_date
        if data.title is not msgspec.UNSET:
            values["title"] = data.title
        if data.content is not msgspec.UNSET:
            values["content"] = data.content
        if data.encrypted is not msgspec.UNSET:
            values.update(_encrypted_values(data.encrypted))
        plain = values["content"] is not None if "content" in values else current.plain
        sealed = values["ciphertext"] is not None if "ciphertext" in values else current.sealed
        if plain == sealed:
            raise exactly_one()
        if unknown_tag is not None:
            raise unknown_tag
        if tags_changed:
            await replace_links(self.db, entry_tags, "entry_id", entry_id, [r.id for r in tag_rows])
            # After the links changed, on the row locked above: reads the links just written.
            values["tags"] = tag_list_of(entries.c.id)
        if values:
            await save_revision(self.db, entry_id)  # the version this change replaces
            try:
                await LIFECYCLE.change(self.db, entry_id, **values)
            except IntegrityError as exc:  # a CHECK the checks above did not foresee
                if (constraint_of(exc) or "").startswith("ck_journal_entries_"):
                    raise Invalid("content", "this change leaves the entry invalid") from None
                raise
        return await self.get(entry_id)

    async def delete(self, entry_id: uuid.UUID, expected_version: ExpectedVersion = None) -> None:
        """Soft delete: the entry moves to the trash (restorable until retention purges it)."""
        await LIFECYCLE.delete(self.db, entry_id, expected_version)

    async def restore(self, entry_id: uuid.UUID) -> tuple[s.Entry, int]:
        """Bring an entry back from the trash (restoring a live entry changes nothing)."""
        await LIFECYCLE.restore(self.db, entry_id)
        return await self.get(entry_id)

    async def restore_revision(
        self, entry_id: uuid.UUID, revision: int, expected_version: ExpectedVersion = None
    ) -> tuple[s.Entry, int]:
        """Make an earlier version current again, as a new version (the current one is saved as a
        revision first); its tags that were deleted since are left out."""
        earlier = await Revisions(self.db).get(entry_id, revision)
        wanted = [tag.id for tag in earlier.tags]
        still_there: list[uuid.UUID] = []
        if wanted:
            t = tags.c
            rows = await self.db.session.execute(
                sa.select(t.id).where(
                    t.user_id == self.db.user_id,
                    t.id == sa.any_(sa.bindparam("ids", wanted, type_=ARRAY(sa.Uuid))),
                )
            )
            present = {row.id for row in rows}
            still_there = [tag_id for tag_id in wanted if tag_id in present]
        return await self.update(entry_id, as_update(earlier, still_there), expected_version)

    async def purge(self, entry_id: uuid.UUID) -> None:
        """Delete one trashed entry for good (404 unless it is in the caller's trash)."""
        await LIFECYCLE.purge(self.db, entry_id)

    async def empty_trash(self) -> None:
        """Delete every entry of the caller's trash for good."""
        await LIFECYCLE.empty_trash(self.db)


#: The caller's entries for the account export (trash included, ``deleted_at`` set there):
#: the API's shape, ``encrypted`` with the stored bytes as base64, newest ``entry_date`` first.
EXPORT = ExportKind(
    "entries",
    lambda user_id: (
        sa.select(*_COLUMNS)
        .where(entries.c.user_id == user_id)
        .order_by(entries.c.entry_date.desc(), entries.c.id.desc())
    ),
    _entry,
)
