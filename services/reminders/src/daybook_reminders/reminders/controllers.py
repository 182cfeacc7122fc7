"""`/api/v1/reminders`: HTTP only (parse, call the service, shape the response)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from daybook_common.auth import AccessClaims
from daybook_common.db import set_rls_user
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_reminders import idempotency
from daybook_reminders.db import models as m
from daybook_reminders.reminders import schemas as s
from daybook_reminders.reminders.services import ReminderService, format_time
from daybook_reminders.tasks import TASK_WAIT_STATE_KEY

BASE_PATH = "/api/v1/reminders"
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        required=False,
        description="A retry with the same key and body within 24 h returns the original response",
    ),
]
IfMatch = Annotated[
    str | None,
    Parameter(header="If-Match", required=False, description="ETag from a GET; 412 if it no longer matches"),
]


async def provide_reminder_service(
    db_session: AsyncSession, current_user: AccessClaims, state: State
) -> ReminderService:
    await set_rls_user(db_session, current_user.user_id)
    wait = float(state.get(TASK_WAIT_STATE_KEY, 0.0))
    return ReminderService(session=db_session, user_id=current_user.user_id, task_wait_seconds=wait)


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
        is_active=r.is_active,
        task_id=r.task_id,
        next_fire_at=r.next_fire_at,
        last_fired_at=r.last_fired_at,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


def etag(r: m.Reminder) -> str:
    """A strong validator that changes with every write (API edits and firings bump updated_at)."""
    digest = hashlib.sha256(f"{r.id}:{r.updated_at.isoformat()}".encode()).hexdigest()[:32]
    return f'"{digest}"'


def if_match_ok(header: str | None, current: str) -> bool:
    if header is None:
        return True
    candidates = [part.strip() for part in header.split(",")]
    return "*" in candidates or current in candidates


class ReminderController(Controller):
    path = BASE_PATH
    tags = ["reminders"]
    dependencies = {"reminders": Provide(provide_reminder_service)}

    @post("/", operation_id="CreateReminder", status_code=201, summary="Create a reminder")
    async def create_reminder(
        self, reminders: ReminderService, data: s.ReminderCreate, idempotency_key: IdempotencyKey = None
    ) -> Response[Any]:
        fingerprint = idempotency.request_hash(msgspec.json.encode(data))
        if idempotency_key is not None:
            key = idempotency.check_key(idempotency_key)
            stored = await reminders.claim_idempotency_key(key, fingerprint)
            if stored is not None:
                headers = {"Idempotent-Replayed": "true"}
                if stored.location:
                    headers["Location"] = stored.location
                return Response(
                    stored.body, status_code=stored.status_code, headers=headers, media_type=MediaType.JSON
                )
        reminder = await reminders.create_reminder(data)
        location = f"{BASE_PATH}/{reminder.id}"
        body = to_schema(reminder)
        if idempotency_key is not None:
            await reminders.record_idempotent_response(
                idempotency_key, 201, msgspec.json.encode(body), location
            )
        return Response(body, status_code=201, headers={"Location": location, "ETag": etag(reminder)})

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

    @get("/{reminder_id:uuid}", operation_id="GetReminder", summary="One reminder")
    async def get_reminder(self, reminders: ReminderService, reminder_id: uuid.UUID) -> Response[s.Reminder]:
        reminder = await reminders.get_owned(reminder_id)
        if reminder is None:
            raise NotFoundException(detail="Reminder not found")
        return Response(to_schema(reminder), headers={"ETag": etag(reminder)})

    @patch("/{reminder_id:uuid}", operation_id="UpdateReminder", summary="Change a reminder")
    async def update_reminder(
        self,
        reminders: ReminderService,
        reminder_id: uuid.UUID,
        data: s.ReminderUpdate,
        if_match: IfMatch = None,
    ) -> Response[s.Reminder]:
        reminder = await reminders.get_owned(reminder_id, for_update=True)
        if reminder is None:
            raise NotFoundException(detail="Reminder not found")
        if not if_match_ok(if_match, etag(reminder)):
            raise HTTPException(status_code=412, detail="The reminder changed since it was read (If-Match)")
        reminder = await reminders.update_reminder(reminder, data)
        return Response(to_schema(reminder), headers={"ETag": etag(reminder)})

    @delete(
        "/{reminder_id:uuid}", operation_id="DeleteReminder", status_code=204, summary="Delete a reminder"
    )
    async def delete_reminder(self, reminders: ReminderService, reminder_id: uuid.UUID) -> None:
        reminder = await reminders.get_owned(reminder_id, for_update=True)
        if reminder is None:
            raise NotFoundException(detail="Reminder not found")
        await reminders.delete_reminder(reminder)
