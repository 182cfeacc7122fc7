"""HTTP for a goal tree's practice statistics."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from daybook_journal.constraints import StatsBucket
from daybook_journal.goals.controllers import GOALS
from daybook_journal.stats import schemas as s
from daybook_journal.stats.services import StatsService


class StatsController(Controller):
    path = GOALS + "/{root_id:uuid}/stats"
    tags = ["sessions"]

    @get(
        "/",
        operation_id="GetGoalStats",
        summary="Per activity and bucket: sessions, instances, seconds, metric sum/avg/max",
        description="Sessions are bucketed by started_at in UTC, from <= started_at < to; at most ~3 years.",
    )
    async def get_stats(
        self,
        root_id: uuid.UUID,
        stats_service: StatsService,
        start: Annotated[datetime.datetime, Parameter(query="from", description="RFC 3339, inclusive")],
        end: Annotated[datetime.datetime, Parameter(query="to", description="RFC 3339, exclusive")],
        bucket: StatsBucket = "day",
    ) -> s.Stats:
        return await stats_service.stats(root_id, start, end, bucket)
