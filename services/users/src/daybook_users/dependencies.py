"""Request-scoped dependencies: services over the request's session, the live caller, the admin guard."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.auth import AccessClaims, token_refused
from daybook_common.clients import client_address
from daybook_common.db import set_rls_user
from daybook_users.account.services import AccountService
from daybook_users.activity.services import ActivityService
from daybook_users.auth.clients import ClientInfo, user_agent
from daybook_users.auth.services import AuthService
from daybook_users.db import models as m
from daybook_users.runtime import STATE_KEY, UsersRuntime
from daybook_users.sessions.controllers import session_of
from daybook_users.sessions.services import SessionService
from daybook_users.users.services import UserService


def provide_runtime(state: State) -> UsersRuntime:
    runtime: UsersRuntime = state[STATE_KEY]
    return runtime


def provide_auth_service(db_session: AsyncSession, runtime: UsersRuntime) -> AuthService:
    return AuthService(db_session, runtime)


def provide_user_service(db_session: AsyncSession) -> UserService:
    return UserService(session=db_session)


def provide_session_service(db_session: AsyncSession, runtime: UsersRuntime) -> SessionService:
    return SessionService(db_session, runtime.settings.tokens.access_ttl_seconds)


def provide_account_service(db_session: AsyncSession, runtime: UsersRuntime) -> AccountService:
    return AccountService(db_session, runtime)


def provide_activity_service(db_session: AsyncSession) -> ActivityService:
    return ActivityService(db_session)


def provide_client(request: Request[Any, Any, Any], runtime: UsersRuntime) -> ClientInfo:
    peer = request.client.host if request.client else None
    forwarded = request.headers.getall("x-forwarded-for", [])
    return ClientInfo(
        ip=client_address(peer, forwarded, runtime.settings.throttle.trusted_proxies),
        user_agent=user_agent(request.headers.get("user-agent")),
    )


async def provide_account(
    current_user: AccessClaims, user_service: UserService, session_service: SessionService
) -> m.User:
    """The caller's account; a valid token of a deleted or deactivated account, or of a revoked
    session, gets 401."""
    user = await user_service.get_live(current_user.user_id)
    if user is None or not user.is_active:
        raise token_refused("account is not active")
    sid = session_of(current_user)
    if sid is not None and await session_service.is_denied(sid):
        raise token_refused("session revoked")
    # Named after the caller for the audit trail (``app.user_id``, ``app.request_id``): an admin's
    # change of another account is recorded with the admin as its actor.
    await set_rls_user(user_service.session, user.id)
    return user


async def provide_superuser(account: m.User) -> m.User:
    if not account.is_superuser:
        raise PermissionDeniedException(detail="Only superusers may do this")
    return account


dependencies: dict[str, Provide] = {
    "runtime": Provide(provide_runtime, sync_to_thread=False),
    "auth_service": Provide(provide_auth_service, sync_to_thread=False),
    "user_service": Provide(provide_user_service, sync_to_thread=False),
    "session_service": Provide(provide_session_service, sync_to_thread=False),
    "account_service": Provide(provide_account_service, sync_to_thread=False),
    "activity_service": Provide(provide_activity_service, sync_to_thread=False),
    "client": Provide(provide_client, sync_to_thread=False),
    "account": Provide(provide_account),
    "superuser": Provide(provide_superuser),
}
