"""argon2id password hashing, off the event loop.

Hashing is deliberately slow and CPU-bound, so every hash and verify runs in a worker thread
(argon2-cffi releases the GIL) behind a limiter of one thread per CPU by default: the event loop
keeps serving other requests, and a login burst cannot allocate unbounded 19 MiB blocks.

An unknown email is verified against a dummy hash made with the same parameters, so it costs the
same as a wrong password and response times reveal nothing about which accounts exist.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from daybook_users.settings import PasswordSettings


@dataclass(frozen=True)
class Verification:
    ok: bool
    needs_rehash: bool = False


@dataclass
class Passwords:
    settings: PasswordSettings
    concurrency: int
    hasher: PasswordHasher = field(init=False)
    _limiter: anyio.CapacityLimiter | None = field(default=None, init=False)
    _dummy_hash: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.hasher = PasswordHasher(
            time_cost=self.settings.time_cost,
            memory_cost=self.settings.memory_kib,
            parallelism=self.settings.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # made lazily: it belongs to the running event loop
            self._limiter = anyio.CapacityLimiter(max(1, self.concurrency))
        return self._limiter

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password, limiter=self.limiter)

    def _verify_sync(self, hashed: str, password: str) -> Verification:
        try:
            self.hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return Verification(ok=False)
        return Verification(ok=True, needs_rehash=self.hasher.check_needs_rehash(hashed))

    async def verify(self, hashed: str | None, password: str) -> Verification:
        """Check ``password``; with no stored hash, burn the same time and fail."""
        if hashed is None:
            await anyio.to_thread.run_sync(
                self._verify_sync, await self.dummy_hash(), password, limiter=self.limiter
            )
            return Verification(ok=False)
        return await anyio.to_thread.run_sync(self._verify_sync, hashed, password, limiter=self.limiter)

    async def dummy_hash(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(32))
        return self._dummy_hash

    async def warm_up(self) -> None:
        """Make the dummy hash at startup, so the first unknown-email login is not slower."""
        await self.dummy_hash()
