"""``/users/me/sessions``: the caller's signed-in sessions; revoke one."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get

from daybook_common.auth import AccessClaims
from daybook_common.openapi import problems
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_users.auth.clients import ClientInfo
from daybook_users.db import models as m
from daybook_users.sessions import schemas as s
from daybook_users.sessions.services import SessionService


def session_of(claims: AccessClaims) -> uuid.UUID | None:
    """The session (refresh-token family) an access token was issued for, if it says."""
    sid = claims.claims.get("sid")
    try:
        return uuid.UUID(str(sid)) if sid is not None else None
    except ValueError:
        return None


class SessionController(Controller):
    path = "/api/v1/users/me/sessions"
    tags = ["users"]

    @get("/", operation_id="ListMySessions", summary="The caller's signed-in sessions, newest first")
    async def list_sessions(
        self,
        account: m.User,
        current_user: AccessClaims,
        session_service: SessionService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[s.Session]:
        items, next_cursor = await session_service.page(account.id, session_of(current_user), limit, cursor)
        return Page(items=items, next_cursor=next_cursor)

    @delete(
        "/{session_id:uuid}",
        operation_id="RevokeMySession",
        status_code=204,
        summary="Sign a session out: its refresh tokens at once, its access tokens within a second",
        opt=problems({404: "No such live session of the caller"}),
    )
    async def revoke_session(
        self, session_id: uuid.UUID, account: m.User, session_service: SessionService, client: ClientInfo
    ) -> None:
        await session_service.revoke(account.id, session_id, client)
