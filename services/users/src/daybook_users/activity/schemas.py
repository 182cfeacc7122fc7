"""A security event as the API shows it."""

from __future__ import annotations

import datetime
import uuid
from typing import Literal

import msgspec

ActivityKind = Literal[
    "login",
    "login_failed",
    "password_changed",
    "password_reset",
    "session_revoked",
    "email_verified",
    "export",
]


class SecurityEvent(msgspec.Struct, forbid_unknown_fields=True):
    id: uuid.UUID
    kind: ActivityKind
    at: datetime.datetime
    ip: str | None
    user_agent: str | None
