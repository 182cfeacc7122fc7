"""What the app builds once at start and every request shares (keys, hasher, settings)."""

from __future__ import annotations

from daybook_users.auth.keys import SigningKeys
from daybook_users.auth.passwords import Passwords
from daybook_users.auth.tokens import AccessTokenIssuer
from daybook_users.settings import Settings

STATE_KEY = "users_runtime"


class UsersRuntime:
    """A plain class on purpose: Litestar would otherwise try to validate it field by field as a
    dependency value."""

    __slots__ = ("access", "keys", "passwords", "settings")

    def __init__(
        self, settings: Settings, keys: SigningKeys, passwords: Passwords, access: AccessTokenIssuer
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.passwords = passwords
        self.access = access

    @classmethod
    def build(cls, settings: Settings, keys: SigningKeys) -> UsersRuntime:
        return cls(
            settings=settings,
            keys=keys,
            passwords=Passwords(settings.passwords, settings.hash_concurrency),
            access=AccessTokenIssuer(keys, settings.common.auth, settings.tokens.access_ttl_seconds),
        )
