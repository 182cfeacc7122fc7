"""``GET /users/me/activity``: the caller's security events, newest first."""

from __future__ import annotations

from litestar import Controller, get

from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_users.activity import schemas as s
from daybook_users.activity.services import ActivityService
from daybook_users.db import models as m


class ActivityController(Controller):
    path = "/api/v1/users/me/activity"
    tags = ["users"]

    @get("/", operation_id="ListMyActivity", summary="The caller's security events, newest first")
    async def list_activity(
        self,
        account: m.User,
        activity_service: ActivityService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[s.SecurityEvent]:
        items, next_cursor = await activity_service.page(account.id, limit, cursor)
        return Page(items=items, next_cursor=next_cursor)
