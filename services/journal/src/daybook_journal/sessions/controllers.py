"""HTTP for practice sessions, their activity instances, metric values and timers."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter

from daybook_common.http import (
    IdempotencyKey,
    IfMatchHeader,
    IfNoneMatchHeader,
    expected_version,
    json_response,
    read_response,
)
from daybook_common.idempotency import IdempotencyKeys
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_common.rls import UserDb
from daybook_journal.goals.controllers import GOALS
from daybook_journal.practice_http import idempotent_create
from daybook_journal.sessions import schemas as s
from daybook_journal.sessions.services import SessionService

SESSIONS = "/api/v1/sessions"
INSTANCE = "/{session_id:uuid}/activities/{instance_id:uuid}"


def provide_sessions(user_db: UserDb) -> SessionService:
    return SessionService(user_db)


_DEPENDENCIES = {"session_service": Provide(provide_sessions, sync_to_thread=False)}


class TreeSessionController(Controller):
    path = GOALS + "/{root_id:uuid}/sessions"
    tags = ["sessions"]
    dependencies = _DEPENDENCIES

    @post("/", operation_id="CreateSession", summary="Start a session (a template pre-fills its activities)")
    async def create_session(
        self,
        request: Request[Any, Any, Any],
        root_id: uuid.UUID,
        data: s.SessionCreate,
        session_service: SessionService,
        idempotency: IdempotencyKeys,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Session]:
        async def create() -> tuple[s.Session, int, str]:
            session, version = await session_service.create(root_id, data)
            return session, version, f"{SESSIONS}/{session.id}"

        return await idempotent_create(request, data, idempotency, idempotency_key, create)

    @get("/", operation_id="ListSessions", summary="A tree's live sessions, newest started_at first")
    async def list_sessions(
        self,
        root_id: uuid.UUID,
        session_service: SessionService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        start: Annotated[
            datetime.datetime | None, Parameter(query="from", description="started_at >= this (RFC 3339)")
        ] = None,
        end: Annotated[
            datetime.datetime | None, Parameter(query="to", description="started_at <= this (RFC 3339)")
        ] = None,
    ) -> Page[s.Session]:
        items, next_cursor = await session_service.page(root_id, cursor, limit, start, end)
        return Page(items=items, next_cursor=next_cursor)

    @get("/trash", operation_id="ListSessionTrash", summary="A tree's deleted sessions, latest first")
    async def list_trash(
        self,
        root_id: uuid.UUID,
        session_service: SessionService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[s.Session]:
        items, next_cursor = await session_service.page(root_id, cursor, limit, trash=True)
        return Page(items=items, next_cursor=next_cursor)


class SessionController(Controller):
    path = SESSIONS
    tags = ["sessions"]
    dependencies = _DEPENDENCIES

    @get("/{session_id:uuid}", operation_id="GetSession", summary="A session with its activities and values")
    async def get_session(
        self, session_id: uuid.UUID, session_service: SessionService, if_none_match: IfNoneMatchHeader = None
    ) -> Response[s.Session]:
        session, version = await session_service.get(session_id)
        return cast(Response[s.Session], read_response(session, version, if_none_match))

    @patch("/{session_id:uuid}", operation_id="UpdateSession")
    async def update_session(
        self,
        session_id: uuid.UUID,
        data: s.SessionUpdate,
        session_service: SessionService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Session]:
        session, version = await session_service.update(session_id, data, expected_version(if_match))
        return cast(Response[s.Session], json_response(session, version=version))

    @delete("/{session_id:uuid}", operation_id="DeleteSession", summary="Soft-delete a session")
    async def delete_session(
        self, session_id: uuid.UUID, session_service: SessionService, if_match: IfMatchHeader = None
    ) -> None:
        await session_service.delete(session_id, expected_version(if_match))

    @post("/{session_id:uuid}/restore", operation_id="RestoreSession", status_code=200)
    async def restore_session(
        self, session_id: uuid.UUID, session_service: SessionService
    ) -> Response[s.Session]:
        session, version = await session_service.restore(session_id)
        return cast(Response[s.Session], json_response(session, version=version))

    @post(
        "/{session_id:uuid}/activities",
        operation_id="CreateActivityInstance",
        summary="Add an activity instance",
    )
    async def add_instance(
        self, session_id: uuid.UUID, data: s.InstanceCreate, session_service: SessionService
    ) -> Response[s.Instance]:
        instance = await session_service.add_instance(session_id, data)
        location = f"{SESSIONS}/{session_id}/activities/{instance.id}"
        return Response(instance, status_code=201, headers={"Location": location})

    @patch(INSTANCE, operation_id="UpdateActivityInstance")
    async def update_instance(
        self,
        session_id: uuid.UUID,
        instance_id: uuid.UUID,
        data: s.InstanceUpdate,
        session_service: SessionService,
    ) -> s.Instance:
        return await session_service.update_instance(session_id, instance_id, data)

    @delete(INSTANCE, operation_id="DeleteActivityInstance", summary="Delete an instance and its values")
    async def delete_instance(
        self, session_id: uuid.UUID, instance_id: uuid.UUID, session_service: SessionService
    ) -> None:
        await session_service.delete_instance(session_id, instance_id)

    @post(INSTANCE + "/start", operation_id="StartActivityTimer", status_code=200, summary="409 if running")
    async def start_timer(
        self, session_id: uuid.UUID, instance_id: uuid.UUID, session_service: SessionService
    ) -> s.Instance:
        return await session_service.start(session_id, instance_id)

    @post(INSTANCE + "/stop", operation_id="StopActivityTimer", status_code=200, summary="409 if not running")
    async def stop_timer(
        self, session_id: uuid.UUID, instance_id: uuid.UUID, session_service: SessionService
    ) -> s.Instance:
        return await session_service.stop(session_id, instance_id)

    @put(INSTANCE + "/metrics", operation_id="ReplaceMetricValues", summary="Replace the instance's values")
    async def replace_values(
        self,
        session_id: uuid.UUID,
        instance_id: uuid.UUID,
        data: s.MetricValuesIn,
        session_service: SessionService,
    ) -> s.Instance:
        return await session_service.replace_values(session_id, instance_id, data)
