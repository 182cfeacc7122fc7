"""HTTP for tasks."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter

from daybook_common.http import (
    IdempotencyKey,
    IfMatchHeader,
    IfNoneMatchHeader,
    etag,
    expected_version,
    idempotent_create,
    json_response,
    read_response,
)
from daybook_common.idempotency import IdempotencyKeys
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_journal.constraints import TaskPriority, TaskSort, TaskStatus
from daybook_journal.tasks import schemas as s
from daybook_journal.tasks.services import TaskFilters, TaskQueries, TaskService


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]

    @get("/", operation_id="ListTasks", summary="The caller's tasks")
    async def list_tasks(
        self,
        task_queries: TaskQueries,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        status: Annotated[list[TaskStatus] | None, Parameter(description="repeatable: any of")] = None,
        priority: Annotated[list[TaskPriority] | None, Parameter(description="repeatable: any of")] = None,
        due_before: Annotated[datetime.datetime | None, Parameter(description="due_at < this")] = None,
        due_after: Annotated[datetime.datetime | None, Parameter(description="due_at > this")] = None,
        q: Annotated[
            str | None, Parameter(min_length=1, max_length=200, description="full-text search")
        ] = None,
        goal_id: Annotated[uuid.UUID | None, Parameter(description="only tasks of this goal")] = None,
        sort: Annotated[
            TaskSort,
            Parameter(
                description="due_at sorts put tasks without a due date last; priority: low < medium < high"
            ),
        ] = "-created_at",
    ) -> Page[s.Task]:
        filters = TaskFilters(
            statuses=tuple(status or ()),
            priorities=tuple(priority or ()),
            due_before=due_before,
            due_after=due_after,
            q=q,
            goal_id=goal_id,
        )
        items, next_cursor = await task_queries.page(filters, sort, cursor, limit)
        return Page(items=items, next_cursor=next_cursor)

    @post("/", operation_id="CreateTask")
    async def create_task(
        self,
        request: Request[Any, Any, Any],
        data: s.TaskCreate,
        task_service: TaskService,
        idempotency: IdempotencyKeys,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Task]:
        async def create() -> tuple[int, s.Task, dict[str, str]]:
            task, version = await task_service.create(data)
            return 201, task, {"Location": f"{self.path}/{task.id}", "ETag": etag(version)}

        response = await idempotent_create(
            idempotency, idempotency_key, "POST", request.url.path, data, create
        )
        return cast(Response[s.Task], response)

    @get("/trash", operation_id="ListTaskTrash", summary="The caller's soft-deleted tasks, latest first")
    async def list_trash(
        self, task_queries: TaskQueries, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[s.Task]:
        items, next_cursor = await task_queries.trash(cursor, limit)
        return Page(items=items, next_cursor=next_cursor)

    @delete(
        "/trash/{task_id:uuid}", operation_id="PurgeTrashedTask", summary="Delete a trashed task for good"
    )
    async def purge_task(self, task_id: uuid.UUID, task_service: TaskService) -> None:
        await task_service.purge(task_id)

    @delete(
        "/trash", operation_id="EmptyTaskTrash", summary="Delete every task of the caller's trash for good"
    )
    async def empty_trash(self, task_service: TaskService) -> None:
        await task_service.empty_trash()

    @get("/{task_id:uuid}", operation_id="GetTask")
    async def get_task(
        self, task_id: uuid.UUID, task_service: TaskService, if_none_match: IfNoneMatchHeader = None
    ) -> Response[s.Task]:
        task, version = await task_service.get(task_id)
        return cast(Response[s.Task], read_response(task, version, if_none_match))

    @patch("/{task_id:uuid}", operation_id="UpdateTask")
    async def update_task(
        self,
        task_id: uuid.UUID,
        data: s.TaskUpdate,
        task_service: TaskService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Task]:
        task, version = await task_service.update(task_id, data, expected_version(if_match))
        return cast(Response[s.Task], json_response(task, version=version))

    @delete("/{task_id:uuid}", operation_id="DeleteTask", summary="Soft-delete a task")
    async def delete_task(
        self, task_id: uuid.UUID, task_service: TaskService, if_match: IfMatchHeader = None
    ) -> None:
        await task_service.delete(task_id, expected_version(if_match))

    @post("/{task_id:uuid}/restore", operation_id="RestoreTask", status_code=200)
    async def restore_task(self, task_id: uuid.UUID, task_service: TaskService) -> Response[s.Task]:
        task, version = await task_service.restore(task_id)
        return cast(Response[s.Task], json_response(task, version=version))
