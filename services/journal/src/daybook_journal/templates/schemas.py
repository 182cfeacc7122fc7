"""Session templates as the API shows and accepts them."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec

from daybook_journal import constraints as c

#: Activities of the same tree, in the order a new session gets them (repeats allowed).
TemplateActivityIds = Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)]


class Template(msgspec.Struct):
    id: uuid.UUID
    user_id: uuid.UUID
    root_id: uuid.UUID
    name: str
    activity_ids: list[uuid.UUID]
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TemplateCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName
    activity_ids: TemplateActivityIds


class TemplateUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: c.PracticeName | msgspec.UnsetType = msgspec.UNSET
    activity_ids: TemplateActivityIds | msgspec.UnsetType = msgspec.UNSET
