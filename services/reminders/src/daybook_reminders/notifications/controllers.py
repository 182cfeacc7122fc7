"""`/api/v1/notifications`: HTTP only (parse, call the service, shape the response)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter

from daybook_common.errors import NotFound
from daybook_common.openapi import problems
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_reminders.db import models as m
from daybook_reminders.notifications import schemas as s
from daybook_reminders.notifications.services import NotificationService


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
