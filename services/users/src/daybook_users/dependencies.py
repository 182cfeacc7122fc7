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
from daybook_users.auth.clients import ClientInfo, user_agent
from daybook_users.auth.services import AuthService
from daybook_users.db import models as m
from daybook_users.runtime import STATE_KEY, UsersRuntime
from daybook_users.users.services import UserService


def provide_runtime(state: State) -> UsersRuntime:
    runtime: UsersRuntime = state[STATE_KEY]
    return runtime


def provide_auth_service(db_session: AsyncSession, runtime: UsersRuntime) -> AuthService:
    return AuthService(db_session, runtime)


def provide_user_service(db_session: AsyncSession) -> UserService:
    return UserService(session=db_session)


def provide_client(request: Request[Any, Any, Any], runtime: UsersRuntime) -> ClientInfo:
    peer = request.client.host if request.client else None
    forwarded = request.headers.getall("x-forwarded-for", [])
    return ClientInfo(
        ip=client_address(peer, forwarded, runtime.settings.throttle.trusted_proxies),
        user_agent=user_agent(request.headers.get("user-agent")),
    )


async def provide_account(current_user: AccessClaims, user_service: UserService) -> m.User:
    """The caller's account; a valid token of a deleted or deactivated account gets 401."""
    user = await user_service.get_live(current_user.user_id)
    if user is None or not user.is_active:
        raise token_refused("account is not active")
    return user


async def provide_superuser(account: m.User) -> m.User:
    if not account.is_superuser:
        raise PermissionDeniedException(detail="Only superusers may do this")
    return account


dependencies: dict[str, Provide] = {
    "runtime": Provide(provide_runtime, sync_to_thread=False),
    "auth_service": Provide(provide_auth_service, sync_to_thread=False),
    "user_service": Provide(provide_user_service, sync_to_thread=False),
    "client": Provide(provide_client, sync_to_thread=False),
    "account": Provide(provide_account),
    "superuser": Provide(provide_superuser),
}
