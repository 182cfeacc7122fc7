"""Password reset and email verification.

Reset: ``request_password_reset`` answers the same way (``202``, same body) whether or not the
address has an account; for one it queues a mail with a 30-minute single-use token in the
request's transaction. At most ``USERS_MAIL_MAX_PER_HOUR`` mails per account and hour are
queued (more requests are answered the same way and send nothing); the gateway limits requests
per client. Confirming spends the token (and any other outstanding reset token), sets the new
password, revokes every refresh token and records ``password_reset``.

Verification: registration queues the mail; ``POST /users/me/verify-email`` queues it again
(nothing when already verified). Unverified accounts keep working: verification only proves the
address, which matters for password reset, and blocking sign-in on it would lock out people whose
mail is slow.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.models import utcnow
from daybook_common.rls import trusted_lookup
from daybook_users.account.tokens import AccountTokens, InvalidAccountToken, Purpose
from daybook_users.activity.services import record_activity
from daybook_users.auth.clients import ClientInfo
from daybook_users.auth.tokens import TokenService
from daybook_users.db import models as m
from daybook_users.mail import messages
from daybook_users.mail.outbox import queue_mail
from daybook_users.runtime import UsersRuntime
from daybook_users.sessions.services import SessionService
from daybook_users.users.services import UserService, login_email

RESET_TTL = datetime.timedelta(minutes=30)
#: A reset request answers no sooner than this, known address or not: the few milliseconds of
#: queueing a mail must not tell who has an account.
RESET_ANSWER_FLOOR_SECONDS = 0.1
logger = logging.getLogger("daybook.users.account")


class AccountService:
    def __init__(self, session: AsyncSession, runtime: UsersRuntime) -> None:
        self.session = session
        self.runtime = runtime
        self.mail = runtime.settings.mail
        self.tokens = AccountTokens(session)
        self.users = UserService(session=session)

    async def _under_mail_limit(self, user_id: uuid.UUID, purpose: Purpose) -> bool:
        since = utcnow() - datetime.timedelta(hours=1)
        sent = await self.tokens.issued_since(user_id, purpose, since)
        if sent >= self.mail.max_per_hour:
            logger.info("mail limit reached; not sent", extra={"user_id": str(user_id), "purpose": purpose})
            return False
        return True

    async def request_password_reset(self, email: str) -> None:
        started = time.monotonic()
        try:
            await self._request_password_reset(email)
        finally:
            await asyncio.sleep(max(0.0, RESET_ANSWER_FLOOR_SECONDS - (time.monotonic() - started)))

    async def _request_password_reset(self, email: str) -> None:
        await trusted_lookup(self.session, "password reset request")
        user = await self.users.get_live_by_email(login_email(email))
        if user is None or not user.is_active:
            return
        if not await self._under_mail_limit(user.id, "password_reset"):
            return
        token = await self.tokens.issue(user.id, "password_reset", RESET_TTL)
        await queue_mail(
            self.session, user.id, messages.password_reset(user.email, self.mail.public_url, token)
        )

    async def confirm_password_reset(self, token: str, new_password: str, client: ClientInfo) -> None:
        await trusted_lookup(self.session, "password reset")
        user_id = await self.tokens.spend(token, "password_reset")
        user = await self.users.get_live(user_id, for_update=True)
        if user is None or not user.is_active:
            raise InvalidAccountToken()
        await self.tokens.spend_all(user.id, "password_reset")
        await self.users.set_password_hash(user, await self.runtime.passwords.hash(new_password))
        tokens = TokenService(self.session, self.runtime.access, self.runtime.settings.tokens)
        # Whoever knew the old password is signed out everywhere: refresh and access tokens.
        ended = await tokens.revoke_all(user.id)
        sessions = SessionService(self.session, self.runtime.settings.tokens.access_ttl_seconds)
        await sessions.deny_access_all(user.id, ended)
        await record_activity(self.session, user.id, "password_reset", client)
        logger.info("password reset", extra={"user_id": str(user.id), "sessions_ended": len(ended)})

    async def send_verification(self, user: m.User) -> None:
        if user.email_verified_at is not None:
            return
        if not await self._under_mail_limit(user.id, "email_verification"):
            return
        ttl = datetime.timedelta(hours=self.mail.verification_ttl_hours)
        token = await self.tokens.issue(user.id, "email_verification", ttl)
        mail = messages.email_verification(
            user.email, self.mail.public_url, token, self.mail.verification_ttl_hours
        )
        await queue_mail(self.session, user.id, mail)

    async def verify_email(self, token: str, client: ClientInfo) -> None:
        await trusted_lookup(self.session, "email verification")

        user_id = await self.tokens.spend(token, "email_verification")
        user = await self.users.get_live(user_id, for_update=True)
        if user is None or not user.is_active:
            raise InvalidAccountToken()
        if user.email_verified_at is None:
            now = utcnow()
            user.email_verified_at = now
            user.updated_at = now
            user.version += 1
            await self.session.flush()
            await record_activity(self.session, user.id, "email_verified", client)
