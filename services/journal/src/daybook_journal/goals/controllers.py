"""HTTP for goal trees."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from daybook_common import resource_routes as routes
from daybook_common.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from daybook_journal.goals import schemas as s
from daybook_journal.goals.services import GoalQueries, GoalService

GOALS = "/api/v1/goals"


GOAL = routes.Resource("goal", "goal_service", GoalService, s.Goal, s.GoalCreate, s.GoalUpdate)


class GoalController(Controller):
    path = GOALS
    tags = ["goals"]

    create_goal = routes.create_route(GOAL, GOALS + "/{id}", summary="Create a goal (no parent_id: a root)")

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

    list_trash = routes.page_route(
        GOAL,
        "list_trash",
        "/trash",
        GoalService.trash,
        operation_id="ListGoalTrash",
        summary="Each deletion's top goal, latest first",
    )
    purge_goal = routes.purge_route(
        GOAL,
        summary="Delete a trashed goal (a deletion's top goal, with its subtree) for good",
    )
    empty_trash = routes.empty_trash_route(
        GOAL, operation_id="EmptyGoalTrash", summary="Delete every goal of the caller's trash for good"
    )

    get_goal, update_goal, delete_goal, restore_goal = routes.lifecycle_routes(
        GOAL, update="Change a goal; parent_id moves its subtree", delete="Soft-delete a goal and its subtree"
    )

    @get(
        "/{goal_id:uuid}/tree",
        operation_id="GetGoalTree",
        summary="The goal with its live descendants",
    )
    async def get_tree(self, goal_id: uuid.UUID, goal_queries: GoalQueries) -> s.GoalTree:
        return await goal_queries.tree(goal_id)
