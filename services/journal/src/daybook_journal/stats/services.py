"""Statistics: one statement per request, ``journal.goal_stats`` (migration ``journal_0004``), on the read pool.

The function is ``SECURITY INVOKER`` (PostgreSQL's default for functions), so row-level
security applies to it as to any query of the caller; it reads one tree's sessions through
the ``(root_id, started_at DESC, id DESC)`` index, their instances by session and their
values by instance.  The statement's outer row is the root check (no row: not the caller's
live root, 404), so a request is one round trip with no transaction
(:mod:`daybook_journal.db.reads`).
"""

from __future__ import annotations

import datetime
import uuid

import msgspec
import sqlalchemy as sa

from daybook_common.errors import Invalid, NotFound
from daybook_journal.db.reads import CompiledQuery, UserReads
from daybook_journal.stats import schemas as s

#: The widest range one request may aggregate.
MAX_RANGE = datetime.timedelta(days=3 * 366)

_STATS = CompiledQuery.of(
    sa.text("""
SELECT page.* FROM (SELECT set_config('app.user_id', :uid, true) AS uid OFFSET 0) AS rls
JOIN LATERAL (
    SELECT st.activity_id, st.bucket_start, st.sessions, st.instances, st.total_seconds, st.metrics
    FROM journal.goals AS root
    LEFT JOIN LATERAL journal.goal_stats(root.id, :start, :end, :bucket) AS st ON true
    WHERE root.id = :root_id AND root.user_id = CAST(:uid AS uuid)
      AND root.parent_id IS NULL AND root.deleted_at IS NULL AND rls.uid IS NOT NULL
) AS page ON true
ORDER BY page.bucket_start, page.activity_id
""")
)
_decode_metrics = msgspec.json.Decoder(list[s.MetricFigures]).decode


class StatsService:
    def __init__(self, reads: UserReads) -> None:
        self.reads = reads

    async def stats(
        self, root_id: uuid.UUID, start: datetime.datetime, end: datetime.datetime, bucket: str
    ) -> s.Stats:
        for field, value in (("from", start), ("to", end)):
            if value.tzinfo is None:
                raise Invalid(field, "a timestamp needs an offset, e.g. Z or +02:00")
        if end <= start:
            raise Invalid("to", "must be after from")
        if end - start > MAX_RANGE:
            raise Invalid("to", "at most about 3 years per request")
        rows = await self.reads.fetch(_STATS, root_id=root_id, start=start, end=end, bucket=bucket)
        if not rows:
            raise NotFound("Goal tree not found")
        return s.Stats(
            items=[
                s.ActivityBucket(
                    activity_id=r["activity_id"],
                    bucket_start=r["bucket_start"],
                    sessions=r["sessions"],
                    instances=r["instances"],
                    total_seconds=r["total_seconds"],
                    metrics=_decode_metrics(r["metrics"]),
                )
                for r in rows
                if r["activity_id"] is not None  # the one row of a tree with no sessions in range
            ]
        )
