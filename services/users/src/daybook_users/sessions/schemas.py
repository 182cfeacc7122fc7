"""A session as the API shows it."""

from __future__ import annotations

import datetime
import uuid

import msgspec


class Session(msgspec.Struct, forbid_unknown_fields=True):
    """A signed-in session: a refresh-token family, from its login to its latest refresh."""

    id: uuid.UUID
    created_at: datetime.datetime
    last_used_at: datetime.datetime
    user_agent: str | None
    #: Whether the caller's access token belongs to this session.
    current: bool
