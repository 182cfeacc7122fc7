"""`/api/v1/reminders`: HTTP only (parse, call the service, shape the response)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter

from daybook_common.auth import AccessClaims
from daybook_common.http import (
    CREATED,
    VERSIONED,
    IdempotencyKey,
    IfMatchHeader,
    etag,
    expected_version,
    idempotent_create,
)
from daybook_common.idempotency import IdempotencyKeys
from daybook_common.models import utcnow
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_reminders.db import models as m
from daybook_reminders.reminders import schemas as s
from daybook_reminders.reminders.services import (
    DEFAULT_OCCURRENCES,
    MAX_OCCURRENCES,
    ReminderService,
    format_time,
    preview_occurrences,
)

BASE_PATH = "/api/v1/reminders"
OccurrenceLimit = Annotated[
    int, Parameter(query="limit", ge=1, le=MAX_OCCURRENCES, description="How many, 1..100")
]


def to_schema(r: m.Reminder) -> s.Reminder:
    return s.Reminder(
        id=r.id,
        user_id=r.user_id,
        title=r.title,
        message=r.message,
        frequency=r.frequency,
        time=format_time(r.time),
        timezone=r.timezone,
        start_date=r.start_date,
        custom_days=list(r.custom_days) if r.custom_days is not None else None,
        rrule=r.rrule,
        is_active=r.is_active,
        task_id=r.task_id,
        next_fire_at=r.next_fire_at,
        last_fired_at=r.last_fired_at,
        created_at=r.created_at,
        updated_at=r.updated_at,
        deleted_at=r.deleted_at,
    )


class ReminderController(Controller):
    path = BASE_PATH
    tags = ["reminders"]

    @post(
        "/",
        operation_id="CreateReminder",
        status_code=201,
        summary="Create a reminder",
        response_headers=CREATED,
    )
    async def create_reminder(
        self,
        request: Request[Any, Any, Any],
        reminders: ReminderService,
        idempotency: IdempotencyKeys,
        data: s.ReminderCreate,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Reminder]:
        async def create() -> tuple[int, s.Reminder, dict[str, str]]:
            reminder = await reminders.create_reminder(data)
            return (
                201,
                to_schema(reminder),
                {"Location": f"{BASE_PATH}/{reminder.id}", "ETag": etag(reminder.version)},
            )

        response = await idempotent_create(
            idempotency, idempotency_key, "POST", request.url.path, data, create
        )
        return cast(Response[s.Reminder], response)

    @get("/", operation_id="ListReminders", summary="The caller's reminders, newest first")
    async def list_reminders(
        self,
        reminders: ReminderService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        is_active: Annotated[bool | None, Parameter(query="is_active", required=False)] = None,
    ) -> Page[s.Reminder]:
        rows, next_cursor = await reminders.list_page(limit=limit, cursor=cursor, is_active=is_active)
        return Page(items=[to_schema(r) for r in rows], next_cursor=next_cursor)

    @get("/trash", operation_id="ListTrashedReminders", summary="The caller's deleted reminders")
    async def list_trash(
        self, reminders: ReminderService, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[s.Reminder]:
        rows, next_cursor = await reminders.trash_page(limit=limit, cursor=cursor)
        return Page(items=[to_schema(r) for r in rows], next_cursor=next_cursor)

    @delete(
        "/trash/{reminder_id:uuid}",
        operation_id="PurgeTrashedReminder",
        summary="Delete a trashed reminder (and its notifications) for good",
    )
    async def purge_reminder(self, reminders: ReminderService, reminder_id: uuid.UUID) -> None:
        await reminders.purge(reminder_id)

    @delete(
        "/trash",
        operation_id="EmptyReminderTrash",
        summary="Delete every reminder of the caller's trash (and their notifications) for good",
    )
    async def empty_trash(self, reminders: ReminderService) -> None:
        await reminders.empty_trash()

    @post(
        "/{reminder_id:uuid}/restore",
        operation_id="RestoreReminder",
        status_code=200,
        summary="Take a reminder out of the trash (it fires from its next future occurrence)",
        response_headers=VERSIONED,
    )
    async def restore_reminder(
        self, reminders: ReminderService, reminder_id: uuid.UUID
    ) -> Response[s.Reminder]:
        reminder = await reminders.restore_reminder(reminder_id)
        return Response(to_schema(reminder), headers={"ETag": etag(reminder.version)})

    @get(
        "/{reminder_id:uuid}", operation_id="GetReminder", summary="One reminder", response_headers=VERSIONED
    )
    async def get_reminder(self, reminders: ReminderService, reminder_id: uuid.UUID) -> Response[s.Reminder]:
        reminder = await reminders.get_live(reminder_id)
        return Response(to_schema(reminder), headers={"ETag": etag(reminder.version)})

    @get(
        "/{reminder_id:uuid}/occurrences",
        operation_id="ListReminderOccurrences",
        summary="The next instants a reminder fires at",
    )
    async def list_occurrences(
        self,
        reminders: ReminderService,
        reminder_id: uuid.UUID,
        limit: OccurrenceLimit = DEFAULT_OCCURRENCES,
    ) -> s.Occurrences:
        return s.Occurrences(items=await reminders.upcoming(reminder_id, limit))

    @post(
        "/occurrences",
        operation_id="PreviewReminderOccurrences",
        status_code=200,
        summary="The next instants an unsaved schedule would fire at (nothing is saved)",
        description=(
            "The schedule fields of a create body, validated as a create validates them (a `422`"
            " names the field); the answer is what `GET /reminders/{id}/occurrences` would list"
            " for an active reminder created with that schedule now."
        ),
    )
    async def preview_occurrences(
        self,
        current_user: AccessClaims,
        data: s.ReminderSchedule,
        limit: OccurrenceLimit = DEFAULT_OCCURRENCES,
    ) -> s.Occurrences:
        # Depending on current_user makes the route authenticated (401) without a database session.
        del current_user
        return s.Occurrences(items=preview_occurrences(data, utcnow(), limit))

    @patch(
        "/{reminder_id:uuid}",
        operation_id="UpdateReminder",
        summary="Change a reminder",
        response_headers=VERSIONED,
    )
    async def update_reminder(
        self,
        reminders: ReminderService,
        reminder_id: uuid.UUID,
        data: s.ReminderUpdate,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Reminder]:
        reminder = await reminders.update_reminder(reminder_id, data, expected_version(if_match))
        return Response(to_schema(reminder), headers={"ETag": etag(reminder.version)})

    @delete(
        "/{reminder_id:uuid}", operation_id="DeleteReminder", status_code=204, summary="Delete a reminder"
    )
    async def delete_reminder(
        self, reminders: ReminderService, reminder_id: uuid.UUID, if_match: IfMatchHeader = None
    ) -> None:
        await reminders.delete_reminder(reminder_id, expected_version(if_match))
