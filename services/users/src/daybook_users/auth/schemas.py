"""Bodies of the auth endpoints."""

from __future__ import annotations

from typing import Literal

import msgspec

from daybook_users.constraints import Email, FullName, GivenPassword, NewPassword, RefreshTokenValue


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Registration. ``is_superuser``, ``id`` and the like are not settable: unknown fields → 422."""

    email: Email
    password: NewPassword
    full_name: FullName | None = None


class Login(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: GivenPassword


class TokenPair(msgspec.Struct, forbid_unknown_fields=True):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: RefreshTokenValue


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: RefreshTokenValue


class Jwk(msgspec.Struct, forbid_unknown_fields=True):
    kty: str
    crv: str
    x: str
    y: str
    kid: str
    use: str = "sig"
    alg: str = "ES256"


class Jwks(msgspec.Struct, forbid_unknown_fields=True):
    keys: list[Jwk]
