"""A tree's sessions page (and its trash) on the read pool: one statement, no transaction.

The page was six round trips in a transaction (BEGIN and the row-level security binding, the
root check, the sessions, their goals, instances and values, COMMIT) and ORM rows; here it is
one statement (:mod:`daybook_journal.db.reads`): the root check is its outer row (no row: the
tree is not the caller's live root, 404; a row with no session: an empty page), and each
session row carries its goal ids and its ``activities`` as stored JSON
(:mod:`daybook_journal.sessions.snapshots`), embedded in the answer as is.  Only when a session
of the page has no snapshot (not written since journal_0018, or since a change by SQL outside
the service) is the page read again, by the same statement with the instance and value
laterals, which aggregate those sessions' (and only those sessions') rows as parallel arrays in
the API's order (instances by ``sort_order, id``; values by ``metric_id, split_id``), encoded
here: the same bytes, from one statement's snapshot of the database.  The laterals are not in
the first statement because, even gated off for every row, they cost each page ~45 µs of the
server's CPU and ~15 µs of ours (13 more columns a row; bench case 8's data, A/B).

The parts are found by the root's id alone: the composite foreign keys with ``root_id`` and
``user_id`` make every row of a tree its root's user's, and the root is checked to be the
caller's (filtering by ``user_id`` too let the planner AND in the ``user_id`` indexes and
sort, instead of walking ``(root_id, started_at DESC, id DESC)``).  Row-level security
still applies to every table.
"""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa

from daybook_common.errors import NotFound
from daybook_common.pagination import decode_cursor, encode_cursor
from daybook_journal.db.reads import CompiledQuery, UserReads
from daybook_journal.db.rows import Record
from daybook_journal.sessions.snapshots import (
    INSTANCES_LATERAL,
    VALUES_LATERAL,
    encode_activities,
    instances_from_arrays,
)

_PAGE = """
SELECT page.* FROM (SELECT set_config('app.user_id', :uid, true) AS uid OFFSET 0) AS rls
JOIN LATERAL (
    SELECT ses.*, sg.goal_ids{fallback_columns}
    FROM journal.goals AS root
    LEFT JOIN LATERAL (
        SELECT s.id, s.user_id, s.root_id, s.template_id, s.title, s.notes, s.started_at, s.ended_at,
               s.created_at, s.updated_at, s.deleted_at, s.activities_json
        FROM journal.sessions AS s
        WHERE s.root_id = root.id AND {where}
        ORDER BY s.{key} DESC, s.id DESC
        LIMIT :limit
    ) AS ses ON true
    LEFT JOIN LATERAL (
        SELECT array_agg(l.goal_id ORDER BY l.goal_id) AS goal_ids
        FROM journal.session_goals AS l
        WHERE l.session_id = ses.id
    ) AS sg ON true
    {fallback}
    WHERE root.id = :root_id AND root.user_id = CAST(:uid AS uuid)
      AND root.parent_id IS NULL AND root.deleted_at IS NULL AND rls.uid IS NOT NULL
) AS page ON true
ORDER BY page.{key} DESC, page.id DESC
"""


#: The page statement's part that aggregates the instances and values of the sessions without a snapshot.
_FALLBACK = f"""{INSTANCES_LATERAL.format(only=" AND ses.activities_json IS NULL")}
    {VALUES_LATERAL}"""


@functools.cache
def _page_query(trash: bool, after: bool, start: bool, end: bool, fallback: bool = False) -> CompiledQuery:
    """One statement per shape (which filters are present; with the fallback's laterals or not), compiled once."""
    key = "deleted_at" if trash else "started_at"
    where = ["s.deleted_at IS NOT NULL" if trash else "s.deleted_at IS NULL"]
    if start:
        where.append("s.started_at >= :start")
    if end:
        where.append("s.started_at <= :end")
    if after:
        where.append(f"(s.{key}, s.id) < (CAST(:after_key AS timestamptz), CAST(:after_id AS uuid))")
    return CompiledQuery.of(
        sa.text(
            _PAGE.format(
                where=" AND ".join(where),
                key=key,
                fallback_columns=", ins.*, val.*" if fallback else "",
                fallback=_FALLBACK if fallback else "",
            )
        )
    )


class PageSession(msgspec.Struct):
    """A page's session: :class:`~daybook_journal.sessions.schemas.Session`'s fields in its order,
    its ``activities`` already JSON (the stored snapshot, else encoded from the fallback's
    rows), so it encodes to the same bytes without decoding the snapshot."""

    id: uuid.UUID
    user_id: uuid.UUID
    root_id: uuid.UUID
    template_id: uuid.UUID | None
    title: str | None
    notes: str | None
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    goal_ids: list[uuid.UUID]
    activities: msgspec.Raw
    created_at: datetime.datetime
    updated_at: datetime.datetime
    deleted_at: datetime.datetime | None = None


def _session(row: Record) -> PageSession:
    session_id, root_id = row["id"], row["root_id"]
    snapshot = row["activities_json"]
    if snapshot is None:  # not written yet: the statement aggregated the rows
        snapshot = encode_activities(instances_from_arrays(row, session_id, root_id))
    return PageSession(
        id=session_id,
        user_id=row["user_id"],
        root_id=root_id,
        template_id=row["template_id"],
        title=row["title"],
        notes=row["notes"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        goal_ids=list(row["goal_ids"] or ()),
        activities=msgspec.Raw(snapshot),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deleted_at=row["deleted_at"],
    )


class SessionQueries:
    """A tree's sessions, newest ``started_at`` first (or its trash, latest deleted first)."""

    def __init__(self, reads: UserReads) -> None:
        self.reads = reads

    async def page(
        self,
        root_id: uuid.UUID,
        cursor: str | None,
        limit: int,
        start: datetime.datetime | None = None,
        end: datetime.datetime | None = None,
        trash: bool = False,
    ) -> tuple[list[PageSession], str | None]:
        values: dict[str, Any] = {"root_id": root_id, "limit": limit + 1}
        if cursor is not None:
            values["after_key"], values["after_id"] = decode_cursor(cursor, (datetime.datetime, uuid.UUID))
        if start is not None:
            values["start"] = start
        if end is not None:
            values["end"] = end
        shape = (trash, cursor is not None, start is not None, end is not None)
        rows: Sequence[Record] = await self.reads.fetch(_page_query(*shape), **values)
        if any(row["activities_json"] is None and row["id"] is not None for row in rows[:limit]):
            rows = await self.reads.fetch(_page_query(*shape, fallback=True), **values)
        if not rows:
            raise NotFound("Goal tree not found")
        if rows[0]["id"] is None:  # the tree has no session on this page
            return [], None
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last["deleted_at" if trash else "started_at"], last["id"])
        return [_session(row) for row in rows[:limit]], next_cursor
