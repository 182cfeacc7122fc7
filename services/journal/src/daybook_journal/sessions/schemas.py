"""Sessions, activity instances and metric values as the API shows and accepts them."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec

from daybook_journal import constraints as c


class MetricValue(msgspec.Struct):
    id: uuid.UUID
    metric_id: uuid.UUID
    split_id: uuid.UUID | None
    value: float


class MetricValueIn(msgspec.Struct, forbid_unknown_fields=True):
    """A value of one of the instance's activity's metrics (per split, if given)."""

    metric_id: uuid.UUID
    value: c.MetricNumber
    split_id: uuid.UUID | None = None


#: At most one value per (metric, split).
MetricValuesIn = Annotated[list[MetricValueIn], msgspec.Meta(max_length=200)]


class Instance(msgspec.Struct):
    """An activity done in a session."""

    id: uuid.UUID
    session_id: uuid.UUID
    activity_id: uuid.UUID
    root_id: uuid.UUID
    time_start: datetime.datetime | None
    time_stop: datetime.datetime | None
    duration_seconds: int | None
    sort_order: int
    metrics: list[MetricValue]
    created_at: datetime.datetime
    updated_at: datetime.datetime


class InstanceCreate(msgspec.Struct, forbid_unknown_fields=True):
    activity_id: uuid.UUID
    time_start: c.AwareDatetime | None = None
    time_stop: c.AwareDatetime | None = None
    #: Without it, and with both times, it is ``time_stop - time_start`` (whole seconds).
    duration_seconds: c.DurationSeconds | None = None
    sort_order: c.SortOrder = 0
    metrics: MetricValuesIn = msgspec.field(default_factory=list)


class InstanceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    time_start: c.AwareDatetime | msgspec.UnsetType | None = msgspec.UNSET
    time_stop: c.AwareDatetime | msgspec.UnsetType | None = msgspec.UNSET
    duration_seconds: c.DurationSeconds | msgspec.UnsetType | None = msgspec.UNSET
    sort_order: c.SortOrder | msgspec.UnsetType = msgspec.UNSET


class Session(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    root_id: uuid.UUID
    template_id: uuid.UUID | None
    title: str | None
    notes: str | None
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    #: Goals of the tree this session worked towards.
    goal_ids: list[uuid.UUID]
    #: Activity instances by ``sort_order``, then creation.
    activities: list[Instance]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    #: Set while the session is in the trash.
    deleted_at: datetime.datetime | None = None


GoalIds = Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)]


class SessionCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: c.SessionTitle | None = None
    #: Defaults to now (the server's clock).
    started_at: c.AwareDatetime | None = None
    ended_at: c.AwareDatetime | None = None
    notes: c.SessionNotes | None = None
    #: A template of this tree: one instance per activity, in its order.
    template_id: uuid.UUID | None = None
    goal_ids: GoalIds = msgspec.field(default_factory=list)


class SessionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: c.SessionTitle | msgspec.UnsetType | None = msgspec.UNSET
    started_at: c.AwareDatetime | msgspec.UnsetType = msgspec.UNSET
    ended_at: c.AwareDatetime | msgspec.UnsetType | None = msgspec.UNSET
    notes: c.SessionNotes | msgspec.UnsetType | None = msgspec.UNSET
    goal_ids: GoalIds | msgspec.UnsetType = msgspec.UNSET
