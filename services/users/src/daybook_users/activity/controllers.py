"""``GET /users/me/activity``: the caller's security events, newest first."""

from __future__ import annotations

from litestar import Controller

from daybook_common import resource_routes as routes
from daybook_users.activity import schemas as s
from daybook_users.activity.services import ActivityService
from daybook_users.db import models as m


async def _my_events(
    activity_service: ActivityService, account: m.User, cursor: str | None, limit: int
) -> tuple[list[s.SecurityEvent], str | None]:
    return await activity_service.page(account.id, limit, cursor)


class ActivityController(Controller):
    path = "/api/v1/users/me/activity"
    tags = ["users"]

    list_activity = routes.page_route(
        routes.Resource("activity", "activity_service", ActivityService, s.SecurityEvent),
        "list_activity",
        "/",
        _my_events,
        parent="account",
        parent_type=m.User,
        operation_id="ListMyActivity",
        summary="The caller's security events, newest first",
    )
