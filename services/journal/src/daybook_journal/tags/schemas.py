"""Tags as the API shows and accepts them."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from daybook_journal import constraints as c


class Tag(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    color: str
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TagCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``name`` is unique per user, case-insensitively; surrounding spaces are dropped."""

    name: c.TagName
    color: c.Color = c.DEFAULT_COLOR

    def __post_init__(self) -> None:
        self.name = self.name.strip()


class TagUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.TagName | msgspec.UnsetType = msgspec.UNSET
    color: c.Color | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if isinstance(self.name, str):
            self.name = self.name.strip()
