"""HTTP for practice sessions, their activity instances, metric values and timers."""

from __future__ import annotations

import datetime
import functools
import uuid
from typing import Annotated, cast

from litestar import Controller, Response, get, post, put
from litestar.params import Parameter

from daybook_common import resource_routes as routes
from daybook_common.http import VERSIONED, IfMatchHeader, expected_version, json_response
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_journal.goals.controllers import GOALS
from daybook_journal.sessions import schemas as s
from daybook_journal.sessions.reads import SessionQueries
from daybook_journal.sessions.services import SessionService

SESSIONS = "/api/v1/sessions"
INSTANCE = "/{session_id:uuid}/activities/{instance_id:uuid}"


SESSION = routes.Resource(
    "session", "session_service", SessionService, s.Session, s.SessionCreate, s.SessionUpdate
)
#: An activity instance, below its session (``/{session_id}/activities/{instance_id}``).
INSTANCE_ITEM = routes.Resource(
    "instance",
    "session_service",
    SessionService,
    s.Instance,
    s.InstanceCreate,
    s.InstanceUpdate,
    prefix="/{session_id:uuid}/activities",
    title="ActivityInstance",
)
#: The pages of a tree's sessions, read on the read pool (:mod:`daybook_journal.sessions.reads`).
SESSION_PAGES = routes.Resource("session", "session_queries", SessionQueries, s.Session)


class TreeSessionController(Controller):
    path = GOALS + "/{root_id:uuid}/sessions"
    tags = ["sessions"]

    create_session = routes.create_route(
        SESSION,
        SESSIONS + "/{id}",
        parent="root_id",
        summary="Start a session (a template pre-fills its activities)",
    )

    @get(
        "/",
        operation_id="ListSessions",
        summary="A tree's live sessions, newest started_at first",
    )
    async def list_sessions(
        self,
        root_id: uuid.UUID,
        session_queries: SessionQueries,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        start: Annotated[
            datetime.datetime | None, Parameter(query="from", description="started_at >= this (RFC 3339)")
        ] = None,
        end: Annotated[
            datetime.datetime | None, Parameter(query="to", description="started_at <= this (RFC 3339)")
        ] = None,
    ) -> Page[s.Session]:
        items, next_cursor = await session_queries.page(root_id, cursor, limit, start, end)
        # A PageSession is a Session with its activities already JSON: the same bytes, this schema.
        return cast(Page[s.Session], Page(items=items, next_cursor=next_cursor))

    list_trash = routes.page_route(
        SESSION_PAGES,
        "list_trash",
        "/trash",
        functools.partial(SessionQueries.page, trash=True),
        parent="root_id",
        operation_id="ListSessionTrash",
        summary="A tree's deleted sessions, latest first",
    )


class SessionController(Controller):
    path = SESSIONS
    tags = ["sessions"]

    get_session, update_session, delete_session, restore_session = routes.lifecycle_routes(
        SESSION, get="A session with its activities and values", delete="Soft-delete a session"
    )

    add_instance = routes.create_route(
        INSTANCE_ITEM,
        SESSIONS + "/{session_id}/activities/{id}",
        path="/{session_id:uuid}/activities",
        parent="session_id",
        method="add_instance",
        summary="Add an activity instance",
    )
    get_instance = routes.get_route(
        INSTANCE_ITEM,
        parent="session_id",
        method="get_instance",
        summary="One activity instance of a live session, with its values",
    )
    update_instance = routes.update_route(INSTANCE_ITEM, parent="session_id", method="update_instance")
    delete_instance = routes.delete_route(
        INSTANCE_ITEM,
        parent="session_id",
        method="delete_instance",
        summary="Delete an instance and its values",
    )

    # The timer and the values change the instance, so they honour If-Match on its ETag as its
    # PATCH does (412 before a timer's 409) and answer it with its new ETag.
    @post(
        INSTANCE + "/start",
        operation_id="StartActivityTimer",
        status_code=200,
        summary="409 if running",
        response_headers=VERSIONED,
    )
    async def start_timer(
        self,
        session_id: uuid.UUID,
        instance_id: uuid.UUID,
        session_service: SessionService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Instance]:
        instance, version = await session_service.start(session_id, instance_id, expected_version(if_match))
        return cast(Response[s.Instance], json_response(instance, version=version))

    @post(
        INSTANCE + "/stop",
        operation_id="StopActivityTimer",
        status_code=200,
        summary="409 if not running",
        response_headers=VERSIONED,
    )
    async def stop_timer(
        self,
        session_id: uuid.UUID,
        instance_id: uuid.UUID,
        session_service: SessionService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Instance]:
        instance, version = await session_service.stop(session_id, instance_id, expected_version(if_match))
        return cast(Response[s.Instance], json_response(instance, version=version))

    @put(
        INSTANCE + "/metrics",
        operation_id="ReplaceMetricValues",
        summary="Replace the instance's values",
        response_headers=VERSIONED,
    )
    async def replace_values(
        self,
        session_id: uuid.UUID,
        instance_id: uuid.UUID,
        data: s.MetricValuesIn,
        session_service: SessionService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Instance]:
        instance, version = await session_service.replace_values(
            session_id, instance_id, data, expected_version(if_match)
        )
        return cast(Response[s.Instance], json_response(instance, version=version))
