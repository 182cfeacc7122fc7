"""Statistics as the API shows them."""

from __future__ import annotations

import datetime
import uuid

import msgspec


class MetricFigures(msgspec.Struct):
    metric_id: uuid.UUID
    split_id: uuid.UUID | None
    sum: float
    avg: float
    max: float


class ActivityBucket(msgspec.Struct):
    """One activity in one bucket (a UTC day, ISO week from Monday, or month)."""

    activity_id: uuid.UUID
    bucket_start: datetime.datetime
    sessions: int
    instances: int
    total_seconds: int
    metrics: list[MetricFigures]


class Stats(msgspec.Struct):
    items: list[ActivityBucket]
