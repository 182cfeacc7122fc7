"""Statistics: one statement per request, ``journal.goal_stats`` (migration ``journal_0004``).

The function is ``SECURITY INVOKER`` (PostgreSQL's default for functions), so row-level
security applies to it as to any query of the caller; it reads one tree's sessions through
the ``(root_id, started_at DESC, id DESC)`` index, their instances by session and their
values by instance.
"""

from __future__ import annotations

import datetime
import uuid

import msgspec
import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC

from daybook_common.errors import Invalid
from daybook_common.rls import UserDb
from daybook_journal.goals.services import GoalService
from daybook_journal.stats import schemas as s

#: The widest range one request may aggregate.
MAX_RANGE = datetime.timedelta(days=3 * 366)

#: ``bucket_start`` read as the ORM reads instants: ``-infinity`` (a session at the first instant,
#: as asyncpg stores it) is that instant with ``Z``, not a naive ``datetime.min``.
_STATS = sa.text(
    "SELECT activity_id, bucket_start, sessions, instances, total_seconds, metrics"
    " FROM journal.goal_stats(:root_id, :start, :end, :bucket)"
).columns(bucket_start=DateTimeUTC(timezone=True))


class StatsService:
    def __init__(self, db: UserDb) -> None:
        self.db = db

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
        await GoalService(self.db).live_root(root_id)
        rows = await self.db.session.execute(
            _STATS, {"root_id": root_id, "start": start, "end": end, "bucket": bucket}
        )
        return s.Stats(
            items=[
                s.ActivityBucket(
                    activity_id=r.activity_id,
                    bucket_start=r.bucket_start,
                    sessions=r.sessions,
                    instances=r.instances,
                    total_seconds=r.total_seconds,
                    metrics=msgspec.convert(r.metrics, list[s.MetricFigures]),
                )
                for r in rows
            ]
        )
