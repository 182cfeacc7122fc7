"""HTTP for activities, activity groups, metric and split definitions."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from litestar import Controller, Response, delete, patch, post
from litestar.handlers import HTTPRouteHandler

from daybook_common import resource_routes as routes
from daybook_journal.activities import schemas as s
from daybook_journal.activities.services import ActivityService, metrics, splits
from daybook_journal.goals.controllers import GOALS

ACTIVITIES = "/api/v1/activities"
GROUPS = "/api/v1/activity-groups"


ACTIVITY = routes.Resource(
    "activity", "activity_service", ActivityService, s.Activity, s.ActivityCreate, s.ActivityUpdate
)
GROUP = routes.Resource(
    "group",
    "activity_service",
    ActivityService,
    s.ActivityGroup,
    s.ActivityGroupCreate,
    s.ActivityGroupUpdate,
    title="ActivityGroup",
)


def _part_routes(
    noun: str, table: sa.Table, schema: type[Any], create: type[Any], update: type[Any], summary: str
) -> tuple[HTTPRouteHandler, HTTPRouteHandler, HTTPRouteHandler]:
    """Add, update and delete of one kind of an activity's parts (metric or split definitions),
    at ``/{activity_id}/{noun}s[/{noun_id}]``; the handlers are ``add_{noun}`` and so on. Its get
    is :func:`_part_get` (``resource_routes.get_route``)."""
    collection = f"/{{activity_id:uuid}}/{noun}s"
    item, part_id = f"{collection}/{{{noun}_id:uuid}}", f"{noun}_id"
    activity, service = (
        routes.param("activity_id", uuid.UUID),
        routes.param("activity_service", ActivityService),
    )

    async def add(activity_id: uuid.UUID, data: Any, activity_service: ActivityService) -> Response[Any]:
        part, new_id = await getattr(activity_service, f"add_{noun}")(activity_id, data)
        return Response(
            part, status_code=201, headers={"Location": f"{ACTIVITIES}/{activity_id}/{noun}s/{new_id}"}
        )

    async def change(
        activity_id: uuid.UUID, data: Any, activity_service: ActivityService, **ids: uuid.UUID
    ) -> Any:
        return await activity_service.update_part(table, activity_id, ids[part_id], data)

    async def remove(activity_id: uuid.UUID, activity_service: ActivityService, **ids: uuid.UUID) -> None:
        await activity_service.delete_part(table, activity_id, ids[part_id])

    title = noun.capitalize()
    ident = routes.param(part_id, uuid.UUID)
    return (
        post(collection, operation_id=f"Create{title}", summary=summary)(
            routes.route_method(
                f"add_{noun}",
                [activity, routes.param("data", create), service],
                routes.parametrised(Response, schema),
                add,
            )
        ),
        patch(item, operation_id=f"Update{title}")(
            routes.route_method(
                f"update_{noun}", [activity, ident, routes.param("data", update), service], schema, change
            )
        ),
        delete(item, operation_id=f"Delete{title}")(
            routes.route_method(f"delete_{noun}", [activity, ident, service], None, remove)
        ),
    )


def _part_get(noun: str, schema: type[Any], summary: str) -> HTTPRouteHandler:
    """``GET /{activity_id}/{noun}s/{noun_id}``: one live definition of a live activity, with its ETag."""
    part = routes.Resource(
        noun, "activity_service", ActivityService, schema, prefix=f"/{{activity_id:uuid}}/{noun}s"
    )
    return routes.get_route(part, parent="activity_id", method=f"get_{noun}", summary=summary)


class TreeActivityController(Controller):
    """What a goal tree owns: ``/goals/{root_id}/activity-groups`` and ``…/activities``."""

    path = GOALS + "/{root_id:uuid}"
    tags = ["activities"]

    create_group = routes.create_route(
        GROUP,
        GROUPS + "/{id}",
        path="/activity-groups",
        parent="root_id",
        method="create_group",
        operation_id="CreateActivityGroup",
    )
    list_groups = routes.page_route(
        GROUP,
        "list_groups",
        "/activity-groups",
        ActivityService.list_groups,
        parent="root_id",
        operation_id="ListActivityGroups",
        summary="A tree's groups by sort_order",
    )
    create_activity = routes.create_route(
        ACTIVITY, ACTIVITIES + "/{id}", path="/activities", parent="root_id"
    )
    list_activities = routes.page_route(
        ACTIVITY,
        "list_activities",
        "/activities",
        ActivityService.page,
        parent="root_id",
        operation_id="ListActivities",
        summary="A tree's live activities by name",
    )
    list_trash = routes.page_route(
        ACTIVITY,
        "list_trash",
        "/activities/trash",
        ActivityService.trash,
        parent="root_id",
        operation_id="ListActivityTrash",
        summary="A tree's deleted activities, latest first",
    )


class ActivityController(Controller):
    path = ACTIVITIES
    tags = ["activities"]

    get_activity, update_activity, delete_activity, restore_activity = routes.lifecycle_routes(
        ACTIVITY, get="One activity with its metrics and splits", delete="Soft-delete an activity"
    )

    add_metric, update_metric, delete_metric = _part_routes(
        "metric", metrics, s.Metric, s.MetricCreate, s.MetricUpdate, "Add a metric definition"
    )
    get_metric = _part_get("metric", s.Metric, "One live metric definition of a live activity")
    add_split, update_split, delete_split = _part_routes(
        "split", splits, s.Split, s.SplitCreate, s.SplitUpdate, "Add a split definition"
    )
    get_split = _part_get("split", s.Split, "One live split definition of a live activity")


class ActivityGroupController(Controller):
    """One activity group: ``/activity-groups/{group_id}`` (made and listed under its tree)."""

    path = GROUPS
    tags = ["activities"]

    get_group = routes.get_route(GROUP, method="get_group", summary="One activity group")
    update_group = routes.update_route(
        GROUP,
        method="update_group",
        summary="Rename or re-sort a group (409 if the tree has a group of that name)",
    )
    delete_group = routes.delete_route(
        GROUP,
        method="delete_group",
        summary="Delete a group for good; its activities stay, with group_id null",
    )
