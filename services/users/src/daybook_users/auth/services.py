"""Credentials: registration, login, refresh, logout, password change, account deletion.

Failures that must survive the 4xx they answer with (a counted failed login, a family revoked
for token reuse) are committed explicitly before raising: the request's transaction is rolled
back on any non-2xx response.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthenticated
from daybook_common.idempotency import StoredResponse, fingerprint, forget_user, key_reused
from daybook_common.metrics import RATE_LIMITED
from daybook_common.models import utcnow
from daybook_common.rls import trusted_lookup
from daybook_users.account.services import AccountService
from daybook_users.account.tokens import AccountTokens
from daybook_users.activity.services import forget_activity, record_activity
from daybook_users.auth.clients import ClientInfo
from daybook_users.auth.throttle import LoginThrottle
from daybook_users.auth.tokens import IssuedTokens, RefreshTokenInvalid, TokenService
from daybook_users.db import models as m
from daybook_users.mail.outbox import forget_account_mail
from daybook_users.runtime import UsersRuntime
from daybook_users.sessions.services import SessionService
from daybook_users.users.services import EmailTaken, UserService, login_email, normalize_email

INVALID_CREDENTIALS = "Invalid email or password"
INVALID_REFRESH_TOKEN = "Invalid or expired refresh token"
logger = logging.getLogger("daybook.users.auth")


REGISTER = "/api/v1/auth/register"


def too_many_attempts(retry_after: int) -> TooManyRequests:
    """The throttle's 429 (made only to be raised: counted here, ``daybook_rate_limited_total``)."""
    RATE_LIMITED.labels("users", "login-throttle").inc()
    return TooManyRequests(retry_after, "Too many failed login attempts; try again later")


def register_fingerprint(email: str, full_name: str | None) -> bytes:
    """What makes two registers "the same request", bar the password: the normalised email and name.

    Nothing derived from the password is stored (an unsalted hash of it would be a fast one to
    crack next to argon2): a retry's password is checked against the account's own hash instead
    (:meth:`AuthService.check_retry`).
    """
    return fingerprint("POST", REGISTER, [email, full_name])


def clean_full_name(raw: str | None) -> str | None:
    return (raw or "").strip() or None


class AuthService:
    def __init__(self, session: AsyncSession, runtime: UsersRuntime) -> None:
        self.session = session
        self.runtime = runtime
        self.passwords = runtime.passwords
        self.users = UserService(session=session)
        self.tokens = TokenService(session, runtime.access, runtime.settings.tokens)
        self.throttle = LoginThrottle(session, runtime.settings.throttle)

    async def register(self, email: str, password: str, full_name: str | None) -> m.User:
        normalized = normalize_email(email)
        if await self.users.get_live_by_email(normalized) is not None:
            raise self._email_taken()
        hashed = await self.passwords.hash(password)
        try:
            # A concurrent registration of the same email waits on the unique index and loses here.
            user = await self.users.create_account(normalized, hashed, clean_full_name(full_name))
        except EmailTaken:
            raise self._email_taken() from None
        await AccountService(self.session, self.runtime).send_verification(user)
        logger.info("account registered", extra={"user_id": str(user.id)})
        return user

    async def check_retry(
        self, stored: StoredResponse, email: str, password: str, client: ClientInfo
    ) -> None:
        """Let a register retry have the stored response only if its password is the account's.

        A wrong one is another request body (422), counted like a failed login: a known key must
        not be an unthrottled password oracle. The email is the retry's normalised one.
        """
        if not stored.same_request:
            await self.passwords.verify(None, password)  # the same argon2 time as a real check
            raise key_reused()
        keys = self.throttle.keys(email, client.ip)
        retry_after = await self.throttle.retry_after(keys)
        if retry_after is not None:
            raise too_many_attempts(retry_after)
        user = await self.users.repository.get_one_or_none(m.User.id == stored.user_id)
        if not (await self.passwords.verify(user.hashed_password if user else None, password)).ok:
            await self.throttle.record_failure(keys)
            await self.session.commit()
            raise key_reused()

    @staticmethod
    def _email_taken() -> Conflict:
        return Conflict("An account with this email already exists")

    async def login(self, email: str, password: str, client: ClientInfo) -> IssuedTokens:
        await trusted_lookup(self.session, "login")
        normalized = login_email(email)
        keys = self.throttle.keys(normalized, client.ip)
        retry_after = await self.throttle.retry_after(keys)
        if retry_after is not None:
            raise too_many_attempts(retry_after)
        user = await self.users.get_live_by_email(normalized)
        # The same argon2 work whether or not the account exists (a dummy hash stands in).
        result = await self.passwords.verify(user.hashed_password if user else None, password)
        if user is None or not result.ok or not user.is_active:
            await self.throttle.record_failure(keys)
            if user is not None:
                await record_activity(self.session, user.id, "login_failed", client)
            await self.session.commit()
            logger.info("login failed", extra={"user_id": str(user.id) if user else None})
            raise Unauthenticated(INVALID_CREDENTIALS)
        await self.throttle.clear(keys[0])
        if result.needs_rehash:
            await self.users.set_password_hash(user, await self.passwords.hash(password))
            logger.info("password rehashed with current parameters", extra={"user_id": str(user.id)})
        await record_activity(self.session, user.id, "login", client)
        return await self.tokens.issue(user.id, client)

    async def refresh(self, refresh_token: str, client: ClientInfo) -> IssuedTokens:
        await trusted_lookup(self.session, "refresh")
        try:
            spent = await self.tokens.spend(refresh_token)
        except RefreshTokenInvalid as exc:
            if exc.reused is not None:
                # A replayed token means it leaked: the access tokens the family handed out (to
                # the thief too) stop working with its refresh tokens, as for a revoked session.
                sessions = SessionService(self.session, self.runtime.settings.tokens.access_ttl_seconds)
                await sessions.deny_access(exc.reused.user_id, exc.reused.family_id, utcnow())
            await self.session.commit()  # keeps a family revocation made on reuse
            raise Unauthenticated(INVALID_REFRESH_TOKEN) from None
        user = await self.users.get_live(spent.user_id)
        if user is None or not user.is_active:
            await self.tokens.revoke_family(spent.family_id)
            await self.session.commit()
            raise Unauthenticated(INVALID_REFRESH_TOKEN)
        return await self.tokens.issue(user.id, client, family_id=spent.family_id, parent_id=spent.id)

    async def logout(self, refresh_token: str) -> None:
        """End the session the token belongs to (its whole family, and its access tokens: their
        ``sid``); unknown tokens are ignored, and so is a session ended already."""
        await trusted_lookup(self.session, "logout")
        found = await self.tokens.family_of(refresh_token)
        if found is not None and await self.tokens.revoke_family(found[1]):
            sessions = SessionService(self.session, self.runtime.settings.tokens.access_ttl_seconds)
            await sessions.deny_access(*found, utcnow())

    async def change_password(
        self,
        user: m.User,
        current_password: str,
        new_password: str,
        client: ClientInfo,
        current_session: uuid.UUID | None,
    ) -> None:
        """Set a new password and end the account's other sessions: every refresh token is revoked
        (the caller's too, as API.md says) and the access tokens of every session but the caller's
        (``current_session``) are denied, as for a revoked session."""
        keys = self.throttle.keys(user.email, client.ip)
        retry_after = await self.throttle.retry_after(keys)
        if retry_after is not None:
            raise too_many_attempts(retry_after)
        if not (await self.passwords.verify(user.hashed_password, current_password)).ok:
            await self.throttle.record_failure(keys)
            await self.session.commit()
            raise Invalid("current_password", "is not the account's password")
        await self.users.set_password_hash(user, await self.passwords.hash(new_password))
        others = await self.tokens.revoke_all(user.id) - {current_session}
        sessions = SessionService(self.session, self.runtime.settings.tokens.access_ttl_seconds)
        await sessions.deny_access_all(user.id, others)
        # A reset link mailed before would otherwise still set a password of its holder's choosing.
        await AccountTokens(self.session).spend_all(user.id, "password_reset")
        await record_activity(self.session, user.id, "password_changed", client)
        logger.info("password changed", extra={"user_id": str(user.id), "sessions_ended": len(others)})

    async def delete_account(self, user: m.User) -> None:
        # Lock the row: two concurrent deletes must not queue two events.
        locked = await self.users.get_live(user.id, for_update=True)
        if locked is None:
            return
        await self.users.mark_deleted(locked)
        await self.tokens.revoke_all(locked.id)
        await forget_user(self.session, m.idempotency_keys, locked.id)
        await forget_activity(self.session, locked.id)
        await AccountTokens(self.session).forget(locked.id)
        await forget_account_mail(self.session, locked.id)
        logger.info("account deleted", extra={"user_id": str(locked.id)})

    async def _locked(self, user_id: uuid.UUID) -> m.User:
        await trusted_lookup(self.session, "admin")
        target = await self.users.get_live(user_id, for_update=True)
        if target is None:
            raise NotFound("User not found")
        return target

    async def admin_delete(self, admin: m.User, user_id: uuid.UUID) -> None:
        """An admin erases an account exactly as its owner's ``DELETE /users/me`` does."""
        await self.delete_account(await self._locked(user_id))
        logger.info("account deleted by an admin", extra={"user_id": str(user_id), "admin_id": str(admin.id)})

    async def set_active(self, admin: m.User, user_id: uuid.UUID, active: bool) -> m.User:
        """Deactivate (login, refresh and every token refused; refresh tokens revoked) or activate.

        The account's tokens are refused at once by ``users.user.access`` (``denied_users``), which
        an activation lifts; its sessions are also ended as a password reset ends them (their
        access tokens' ``sid`` denied), so a token issued before the deactivation stays refused
        after the activation: only new logins get in again."""
        if user_id == admin.id and not active:
            raise Conflict("An admin cannot deactivate their own account")
        target = await self._locked(user_id)
        if await self.users.set_active(target, active) and not active:
            ended = await self.tokens.revoke_all(target.id)
            sessions = SessionService(self.session, self.runtime.settings.tokens.access_ttl_seconds)
            await sessions.deny_access_all(target.id, ended)
        logger.info(
            "account activated" if active else "account deactivated",
            extra={"user_id": str(user_id), "admin_id": str(admin.id)},
        )
        return target

    async def live_account(self, user_id: uuid.UUID) -> m.User | None:
        user = await self.users.get_live(user_id)
        return user if user is not None and user.is_active else None
