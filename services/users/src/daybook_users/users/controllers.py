"""The caller's own account, and the admin list of accounts."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, patch, post

from daybook_common import resource_routes as routes
from daybook_common.auth import AccessClaims
from daybook_common.export import EXPORT_PATH
from daybook_common.http import VERSIONED, IfMatchHeader, etag, expected_version
from daybook_common.openapi import problems
from daybook_users.activity.services import ActivityService
from daybook_users.auth.clients import ClientInfo
from daybook_users.auth.services import AuthService
from daybook_users.db import models as m
from daybook_users.sessions.controllers import session_of
from daybook_users.users import schemas as s
from daybook_users.users.services import UserService, to_schema


def _user(user: m.User) -> Response[s.User]:
    return Response(to_schema(user), headers={"ETag": etag(user.version), "Cache-Control": "no-store"})


class MeController(Controller):
    path = "/api/v1/users/me"
    tags = ["users"]

    @get("/", operation_id="GetMe", summary="The caller's account", response_headers=VERSIONED)
    async def get_me(self, account: m.User) -> Response[s.User]:
        return _user(account)

    @patch("/", operation_id="UpdateMe", summary="Change the caller's profile", response_headers=VERSIONED)
    async def update_me(
        self, data: s.UserUpdate, account: m.User, user_service: UserService, if_match: IfMatchHeader = None
    ) -> Response[s.User]:
        return _user(await user_service.update_profile(account.id, data, expected_version(if_match)))

    @post(
        "/password",
        operation_id="ChangePassword",
        status_code=204,
        summary="Change the password",
        opt=problems({429: "Too many wrong current passwords"}),
    )
    async def change_password(
        self,
        data: s.PasswordChange,
        account: m.User,
        current_user: AccessClaims,
        auth_service: AuthService,
        client: ClientInfo,
    ) -> None:
        await auth_service.change_password(
            account, data.current_password, data.new_password, client, session_of(current_user)
        )

    @delete("/", operation_id="DeleteMe", status_code=204, summary="Delete the caller's account")
    async def delete_me(self, account: m.User, auth_service: AuthService) -> None:
        await auth_service.delete_account(account)


async def _live_accounts(
    user_service: UserService, superuser: m.User, cursor: str | None, limit: int
) -> tuple[list[s.User], str | None]:
    rows, next_cursor = await user_service.live_page(limit, cursor)
    return [to_schema(user) for user in rows], next_cursor


class AdminUserController(Controller):
    path = "/api/v1/admin/users"
    tags = ["admin"]

    list_users = routes.page_route(
        routes.Resource("user", "user_service", UserService, s.User),
        "list_users",
        "/",
        _live_accounts,
        parent="superuser",  # the dependency that lets only superusers in
        parent_type=m.User,
        operation_id="ListUsers",
        summary="Live accounts (superusers only)",
    )

    @delete(
        "/{user_id:uuid}",
        operation_id="AdminDeleteUser",
        status_code=204,
        summary="Erase an account exactly as its owner's DELETE /users/me does (superusers only)",
    )
    async def delete_user(self, user_id: uuid.UUID, superuser: m.User, auth_service: AuthService) -> None:
        await auth_service.admin_delete(superuser, user_id)

    @post(
        "/{user_id:uuid}/deactivate",
        operation_id="DeactivateUser",
        status_code=200,
        summary="Refuse the account's login, refresh and tokens everywhere until activated (superusers only)",
        opt=problems({409: "An admin cannot deactivate their own account"}),
        response_headers=VERSIONED,
    )
    async def deactivate_user(
        self, user_id: uuid.UUID, superuser: m.User, auth_service: AuthService
    ) -> Response[s.User]:
        return _user(await auth_service.set_active(superuser, user_id, False))

    @post(
        "/{user_id:uuid}/activate",
        operation_id="ActivateUser",
        status_code=200,
        summary="Let a deactivated account in again (superusers only)",
        response_headers=VERSIONED,
    )
    async def activate_user(
        self, user_id: uuid.UUID, superuser: m.User, auth_service: AuthService
    ) -> Response[s.User]:
        return _user(await auth_service.set_active(superuser, user_id, True))


class ExportController(Controller):
    """The caller's account as the first part of the account export (see :mod:`daybook_common.export`).

    Internal: the gateway asks for it with the caller's token while it assembles
    ``GET /api/v1/users/me/export``; it is under no public prefix and not in the OpenAPI document.
    A deleted or deactivated account gets ``401`` here, so it gets no export at all. Serving it
    records the ``export`` security event (with the client's address and user agent, which the
    gateway passes on).
    """

    path = EXPORT_PATH
    include_in_schema = False

    @get("/account", include_in_schema=False)
    async def export_account(
        self, account: m.User, activity_service: ActivityService, client: ClientInfo
    ) -> Response[s.User]:
        # The gateway asks for this part first, once per export: the one place to record it.
        await activity_service.record(account.id, "export", client)
        return Response(to_schema(account), headers={"Cache-Control": "no-store"})
