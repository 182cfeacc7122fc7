"""Goals as the API shows and accepts them."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from daybook_journal import constraints as c


class _GoalFields(msgspec.Struct):
    # What a goal and a tree node both show (no docstring: a schema would inherit it).
    id: uuid.UUID
    user_id: uuid.UUID
    #: The id of the goal's tree's root (its own ``id`` for a root).
    root_id: uuid.UUID
    parent_id: uuid.UUID | None
    #: 0 for a root, at most 11.
    depth: int
    title: str
    description: str | None
    deadline: datetime.datetime | None
    status: c.GoalStatus
    #: Set by the server when ``status`` becomes ``done``, cleared when it leaves it.
    completed_at: datetime.datetime | None
    sort_order: int
    created_at: datetime.datetime
    updated_at: datetime.datetime


class Goal(_GoalFields):
    #: Set while the goal is in the trash.
    deleted_at: datetime.datetime | None = None


class GoalTree(_GoalFields):
    """A goal with its live descendants nested, siblings by ``sort_order`` then ``created_at``."""

    children: list[GoalTree]


class GoalCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: c.GoalTitle
    description: c.GoalDescription | None = None
    #: No parent makes a root goal.
    parent_id: uuid.UUID | None = None
    deadline: c.AwareDatetime | None = None
    sort_order: c.SortOrder = 0


class GoalUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: c.GoalTitle | msgspec.UnsetType = msgspec.UNSET
    description: c.GoalDescription | msgspec.UnsetType | None = msgspec.UNSET
    deadline: c.AwareDatetime | msgspec.UnsetType | None = msgspec.UNSET
    sort_order: c.SortOrder | msgspec.UnsetType = msgspec.UNSET
    status: c.GoalStatus | msgspec.UnsetType = msgspec.UNSET
    #: Moves the goal with its subtree (``null``: make it a root).
    parent_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
