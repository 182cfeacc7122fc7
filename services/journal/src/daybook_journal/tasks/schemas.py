"""Tasks as the API shows and accepts them."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from daybook_journal import constraints as c


class Task(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    description: str | None
    status: c.TaskStatus
    priority: c.TaskPriority
    due_at: datetime.datetime | None
    #: Set by the server when ``status`` becomes ``done``, cleared when it leaves it.
    completed_at: datetime.datetime | None
    tag_ids: list[uuid.UUID]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    #: One of the user's goals (it may be in the trash: deleting a goal leaves its tasks as is).
    goal_id: uuid.UUID | None = None
    #: Set while the task is soft-deleted.
    deleted_at: datetime.datetime | None = None


class TaskCreate(msgspec.Struct, forbid_unknown_fields=True):
    title: c.TaskTitle
    description: c.TaskDescription | None = None
    status: c.TaskStatus = "todo"
    priority: c.TaskPriority = "medium"
    due_at: c.AwareDatetime | None = None
    tag_ids: c.TagIds = msgspec.field(default_factory=list)
    #: A live goal of the caller.
    goal_id: uuid.UUID | None = None


class TaskUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: c.TaskTitle | msgspec.UnsetType = msgspec.UNSET
    description: c.TaskDescription | msgspec.UnsetType | None = msgspec.UNSET
    status: c.TaskStatus | msgspec.UnsetType = msgspec.UNSET
    priority: c.TaskPriority | msgspec.UnsetType = msgspec.UNSET
    due_at: c.AwareDatetime | msgspec.UnsetType | None = msgspec.UNSET
    tag_ids: c.TagIds | msgspec.UnsetType = msgspec.UNSET
    goal_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
