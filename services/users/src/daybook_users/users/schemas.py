"""User resources: what the API returns and the bodies that change an account."""

from __future__ import annotations

import datetime
import uuid

import msgspec

from daybook_users.constraints import AvatarUrl, FullName, GivenPassword, NewPassword


class User(msgspec.Struct, forbid_unknown_fields=True):
    """An account as the API shows it: never a password hash or a token."""

    id: uuid.UUID
    email: str
    full_name: str | None
    avatar_url: str | None
    is_active: bool
    is_superuser: bool
    #: When the owner confirmed the address (``null``: not yet; the account works either way).
    email_verified_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH body: an absent field is left alone, ``null`` clears it."""

    full_name: FullName | msgspec.UnsetType | None = msgspec.UNSET
    avatar_url: AvatarUrl | msgspec.UnsetType | None = msgspec.UNSET


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: GivenPassword
    new_password: NewPassword
