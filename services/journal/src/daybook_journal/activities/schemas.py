"""Activities, groups, metric and split definitions as the API shows and accepts them."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec

from daybook_journal import constraints as c

#: Metric or split definitions given with a new activity.
MAX_PARTS = 50


class ActivityGroup(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    root_id: uuid.UUID
    name: str
    sort_order: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ActivityGroupCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName
    sort_order: c.SortOrder = 0


class ActivityGroupUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName | msgspec.UnsetType = msgspec.UNSET
    sort_order: c.SortOrder | msgspec.UnsetType = msgspec.UNSET


class Metric(msgspec.Struct):
    """A metric definition: what an instance of the activity measures, in ``unit``."""

    id: uuid.UUID
    name: str
    unit: str
    sort_order: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class Split(msgspec.Struct):
    """A split definition (e.g. "left", "right"): a metric value may be recorded per split."""

    id: uuid.UUID
    name: str
    sort_order: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class MetricCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName
    unit: c.MetricUnit
    sort_order: c.SortOrder = 0


class MetricUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName | msgspec.UnsetType = msgspec.UNSET
    unit: c.MetricUnit | msgspec.UnsetType = msgspec.UNSET
    sort_order: c.SortOrder | msgspec.UnsetType = msgspec.UNSET


class SplitCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName
    sort_order: c.SortOrder = 0


class SplitUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName | msgspec.UnsetType = msgspec.UNSET
    sort_order: c.SortOrder | msgspec.UnsetType = msgspec.UNSET


class Activity(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    root_id: uuid.UUID
    group_id: uuid.UUID | None
    name: str
    description: str | None
    #: Live metric definitions by ``sort_order``, then creation.
    metrics: list[Metric]
    #: Live split definitions by ``sort_order``, then creation.
    splits: list[Split]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    #: Set while the activity is in the trash.
    deleted_at: datetime.datetime | None = None


class ActivityCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName
    description: c.ActivityDescription | None = None
    #: A group of the same tree.
    group_id: uuid.UUID | None = None
    metrics: Annotated[list[MetricCreate], msgspec.Meta(max_length=MAX_PARTS)] = msgspec.field(
        default_factory=list
    )
    splits: Annotated[list[SplitCreate], msgspec.Meta(max_length=MAX_PARTS)] = msgspec.field(
        default_factory=list
    )


class ActivityUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName | msgspec.UnsetType = msgspec.UNSET
    description: c.ActivityDescription | msgspec.UnsetType | None = msgspec.UNSET
    group_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
