"""HTTP for activities, activity groups, metric and split definitions."""

from __future__ import annotations

from typing import Any

from litestar import Controller
from litestar.handlers import HTTPRouteHandler

from daybook_common import resource_routes as routes
from daybook_journal.activities import schemas as s
from daybook_journal.activities.services import ActivityService
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
    noun: str, schema: type[Any], create: type[Any], update: type[Any], summary: str
) -> tuple[HTTPRouteHandler, ...]:
    """Create, get, update and delete of one kind of an activity's parts (metric or split
    definitions) at ``/{activity_id}/{noun}s[/{noun_id}]``, as every item's
    (:mod:`daybook_common.resource_routes`): ETag on each answer, ``If-Match`` on PATCH and
    DELETE (the definition's own version), ``Idempotency-Key`` on the create. The service's
    methods are ``add_{noun}``, ``get_{noun}``, ``update_{noun}`` and ``delete_{noun}``."""
    collection = f"/{{activity_id:uuid}}/{noun}s"
    part = routes.Resource(
        noun, "activity_service", ActivityService, schema, create, update, prefix=collection
    )
    return (
        routes.create_route(
            part,
            ACTIVITIES + f"/{{activity_id}}/{noun}s/{{id}}",
            path=collection,
            parent="activity_id",
            method=f"add_{noun}",
            summary=summary,
        ),
        routes.get_route(
            part,
            parent="activity_id",
            method=f"get_{noun}",
            summary=f"One live {noun} definition of a live activity",
        ),
        routes.update_route(part, parent="activity_id", method=f"update_{noun}"),
        routes.delete_route(part, parent="activity_id", method=f"delete_{noun}"),
    )


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

    add_metric, get_metric, update_metric, delete_metric = _part_routes(
        "metric", s.Metric, s.MetricCreate, s.MetricUpdate, "Add a metric definition"
    )
    add_split, get_split, update_split, delete_split = _part_routes(
        "split", s.Split, s.SplitCreate, s.SplitUpdate, "Add a split definition"
    )


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
