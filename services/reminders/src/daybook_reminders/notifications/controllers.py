"""`/api/v1/notifications`: HTTP only (parse, call the service, shape the response)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.types import ASGIApp

from daybook_common.auth import VERIFIER_STATE_KEY, AccessClaims
from daybook_common.errors import NotFound
from daybook_common.openapi import EVENT_STREAM, problems
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_reminders.db import models as m
from daybook_reminders.notifications import schemas as s
from daybook_reminders.notifications.services import NotificationService
from daybook_reminders.notifications.stream import (
    HEARTBEAT_STATE_KEY,
    LIVE_STATE_KEY,
    open_stream,
    stream_fast_path,
)


def to_schema(n: m.Notification) -> s.Notification:
    return msgspec.convert(n, s.Notification, from_attributes=True)


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("/", operation_id="ListNotifications", summary="The caller's fired reminders, newest first")
    async def list_notifications(
        self,
        notifications: NotificationService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        unread: Annotated[
            bool, Parameter(query="unread", required=False, description="true: only unread ones")
        ] = False,
    ) -> Page[s.Notification]:
        rows, next_cursor = await notifications.list_page(limit=limit, cursor=cursor, unread=unread)
        return Page(items=[to_schema(n) for n in rows], next_cursor=next_cursor)

    @get(
        "/stream",
        operation_id="StreamNotifications",
        media_type=EVENT_STREAM,
        summary="The caller's new notifications as they are recorded (Server-Sent Events)",
        description=(
            "`text/event-stream`: each event's `id` is a notification id and its `data` the"
            " notification's JSON, within a second of the scheduler recording it; a comment line"
            " every 15 s keeps the stream open. With `Last-Event-ID` the notifications that became"
            " visible after that one (in commit order) are sent first (at most 500 at once, the rest"
            " follow). The stream ends when the access token"
            " expires, its session is signed out or the account is erased; reconnect with a fresh"
            " token and `Last-Event-ID`. At most 10 streams of one user may be open on one reminders"
            " process at a time (`REMINDERS_STREAMS_PER_USER`): one more is `429`."
        ),
        middleware=[stream_fast_path],  # the usual request streams without a Request (see the module)
        opt=problems({429: "The caller already has the most streams open that one user may"}),
    )
    async def stream(
        self,
        current_user: AccessClaims,
        state: State,
        last_event_id: Annotated[
            uuid.UUID | None,
            Parameter(
                header="Last-Event-ID",
                required=False,
                description="The id of the last event received: what came after it is replayed",
            ),
        ] = None,
    ) -> ASGIApp:
        return await open_stream(
            state[LIVE_STATE_KEY],
            current_user,
            state[VERIFIER_STATE_KEY],
            last_event_id,
            state[HEARTBEAT_STATE_KEY],
        )

    @post(
        "/{notification_id:uuid}/snooze",
        operation_id="SnoozeNotification",
        status_code=202,
        summary="Fire the notification's reminder once more, as a new notification, after a delay",
        opt=problems({409: "The notification's reminder is in the trash"}),
    )
    async def snooze(
        self, notifications: NotificationService, notification_id: uuid.UUID, data: s.SnoozeRequest
    ) -> s.Snooze:
        fire_at = await notifications.snooze(notification_id, data.minutes)
        return s.Snooze(notification_id=notification_id, fire_at=fire_at)

    @post(
        "/{notification_id:uuid}/read",
        operation_id="MarkNotificationRead",
        status_code=204,
        summary="Mark a notification read",
    )
    async def mark_read(self, notifications: NotificationService, notification_id: uuid.UUID) -> None:
        if not await notifications.mark_read(notification_id):
            raise NotFound("Notification not found")
