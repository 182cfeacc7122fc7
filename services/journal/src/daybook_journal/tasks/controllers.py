"""HTTP for tasks."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from daybook_common import resource_routes as routes
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_journal.constraints import TaskPriority, TaskSort, TaskStatus
from daybook_journal.tasks import schemas as s
from daybook_journal.tasks.services import TaskFilters, TaskQueries, TaskService

TASK = routes.Resource("task", "task_service", TaskService, s.Task, s.TaskCreate, s.TaskUpdate)
TASK_READS = routes.Resource("task", "task_queries", TaskQueries, s.Task)


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

    create_task = routes.create_route(TASK, "/api/v1/tasks/{id}")

    list_trash = routes.page_route(
        TASK_READS,
        "list_trash",
        "/trash",
        TaskQueries.trash,
        operation_id="ListTaskTrash",
        summary="The caller's soft-deleted tasks, latest first",
    )
    purge_task = routes.purge_route(TASK, summary="Delete a trashed task for good")
    empty_trash = routes.empty_trash_route(
        TASK, operation_id="EmptyTaskTrash", summary="Delete every task of the caller's trash for good"
    )

    get_task, update_task, delete_task, restore_task = routes.lifecycle_routes(
        TASK, delete="Soft-delete a task"
    )
