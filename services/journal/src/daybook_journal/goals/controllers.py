"""HTTP for goal trees."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post
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
from daybook_journal.goals import schemas as s
from daybook_journal.goals.services import GoalService
from daybook_journal.practice_http import idempotent_create

GOALS = "/api/v1/goals"


def provide_goals(user_db: UserDb) -> GoalService:
    return GoalService(user_db)


class GoalController(Controller):
    path = GOALS
    tags = ["goals"]
    dependencies = {"goal_service": Provide(provide_goals, sync_to_thread=False)}

    @post("/", operation_id="CreateGoal", summary="Create a goal (no parent_id: a root)")
    async def create_goal(
        self,
        request: Request[Any, Any, Any],
        data: s.GoalCreate,
        goal_service: GoalService,
        idempotency: IdempotencyKeys,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Goal]:
        async def create() -> tuple[s.Goal, int, str]:
            goal, version = await goal_service.create(data)
            return goal, version, f"{GOALS}/{goal.id}"

        return await idempotent_create(request, data, idempotency, idempotency_key, create)

    @get(
        "/",
        operation_id="ListGoals",
        summary="The caller's root goals, or with root_id every live goal of that tree",
    )
    async def list_goals(
        self,
        goal_service: GoalService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
        root_id: Annotated[
            uuid.UUID | None,
            Parameter(description="list this tree: parents before children, siblings by sort_order"),
        ] = None,
    ) -> Page[s.Goal]:
        if root_id is None:
            items, next_cursor = await goal_service.roots(cursor, limit)
        else:
            items, next_cursor = await goal_service.tree_page(root_id, cursor, limit)
        return Page(items=items, next_cursor=next_cursor)

    @get("/trash", operation_id="ListGoalTrash", summary="Each deletion's top goal, latest first")
    async def list_trash(
        self, goal_service: GoalService, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Page[s.Goal]:
        items, next_cursor = await goal_service.trash(cursor, limit)
        return Page(items=items, next_cursor=next_cursor)

    @delete(
        "/trash/{goal_id:uuid}",
        operation_id="PurgeTrashedGoal",
        summary="Delete a trashed goal (a deletion's top goal, with its subtree) for good",
    )
    async def purge_goal(self, goal_id: uuid.UUID, goal_service: GoalService) -> None:
        await goal_service.purge(goal_id)

    @delete(
        "/trash", operation_id="EmptyGoalTrash", summary="Delete every goal of the caller's trash for good"
    )
    async def empty_trash(self, goal_service: GoalService) -> None:
        await goal_service.empty_trash()

    @get("/{goal_id:uuid}", operation_id="GetGoal")
    async def get_goal(
        self, goal_id: uuid.UUID, goal_service: GoalService, if_none_match: IfNoneMatchHeader = None
    ) -> Response[s.Goal]:
        goal, version = await goal_service.get(goal_id)
        return cast(Response[s.Goal], read_response(goal, version, if_none_match))

    @get("/{goal_id:uuid}/tree", operation_id="GetGoalTree", summary="The goal with its live descendants")
    async def get_tree(self, goal_id: uuid.UUID, goal_service: GoalService) -> s.GoalTree:
        return await goal_service.tree(goal_id)

    @patch("/{goal_id:uuid}", operation_id="UpdateGoal", summary="Change a goal; parent_id moves its subtree")
    async def update_goal(
        self,
        goal_id: uuid.UUID,
        data: s.GoalUpdate,
        goal_service: GoalService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Goal]:
        goal, version = await goal_service.update(goal_id, data, expected_version(if_match))
        return cast(Response[s.Goal], json_response(goal, version=version))

    @delete("/{goal_id:uuid}", operation_id="DeleteGoal", summary="Soft-delete a goal and its subtree")
    async def delete_goal(
        self, goal_id: uuid.UUID, goal_service: GoalService, if_match: IfMatchHeader = None
    ) -> None:
        await goal_service.delete(goal_id, expected_version(if_match))

    @post("/{goal_id:uuid}/restore", operation_id="RestoreGoal", status_code=200)
    async def restore_goal(self, goal_id: uuid.UUID, goal_service: GoalService) -> Response[s.Goal]:
        goal, version = await goal_service.restore(goal_id)
        return cast(Response[s.Goal], json_response(goal, version=version))
