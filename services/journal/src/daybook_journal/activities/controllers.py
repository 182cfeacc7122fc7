"""HTTP for activities, activity groups, metric and split definitions."""

from __future__ import annotations

import uuid
from typing import cast

from litestar import Controller, Response, delete, patch, post

from daybook_common import resource_routes as routes
from daybook_journal.activities import schemas as s
from daybook_journal.activities.services import ActivityService, metrics, splits
from daybook_journal.goals.controllers import GOALS

ACTIVITIES = "/api/v1/activities"


ACTIVITY = routes.Resource(
    "activity", "activity_service", ActivityService, s.Activity, s.ActivityCreate, s.ActivityUpdate
)
GROUP = routes.Resource("group", "activity_service", ActivityService, s.ActivityGroup, s.ActivityGroupCreate)


class TreeActivityController(Controller):
    """What a goal tree owns: ``/goals/{root_id}/activity-groups`` and ``…/activities``."""

    path = GOALS + "/{root_id:uuid}"
    tags = ["activities"]

    create_group = routes.create_route(
        GROUP,
        GOALS + "/{root_id}/activity-groups",
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

    get_activity = routes.get_route(ACTIVITY, summary="One activity with its metrics and splits")
    update_activity = routes.update_route(ACTIVITY)
    delete_activity = routes.delete_route(ACTIVITY, summary="Soft-delete an activity")
    restore_activity = routes.restore_route(ACTIVITY)

    @post("/{activity_id:uuid}/metrics", operation_id="CreateMetric", summary="Add a metric definition")
    async def add_metric(
        self, activity_id: uuid.UUID, data: s.MetricCreate, activity_service: ActivityService
    ) -> Response[s.Metric]:
        metric, metric_id = await activity_service.add_metric(activity_id, data)
        return Response(
            metric, status_code=201, headers={"Location": f"{ACTIVITIES}/{activity_id}/metrics/{metric_id}"}
        )

    @patch("/{activity_id:uuid}/metrics/{metric_id:uuid}", operation_id="UpdateMetric")
    async def update_metric(
        self,
        activity_id: uuid.UUID,
        metric_id: uuid.UUID,
        data: s.MetricUpdate,
        activity_service: ActivityService,
    ) -> s.Metric:
        return cast(s.Metric, await activity_service.update_part(metrics, activity_id, metric_id, data))

    @delete("/{activity_id:uuid}/metrics/{metric_id:uuid}", operation_id="DeleteMetric")
    async def delete_metric(
        self, activity_id: uuid.UUID, metric_id: uuid.UUID, activity_service: ActivityService
    ) -> None:
        await activity_service.delete_part(metrics, activity_id, metric_id)

    @post("/{activity_id:uuid}/splits", operation_id="CreateSplit", summary="Add a split definition")
    async def add_split(
        self, activity_id: uuid.UUID, data: s.SplitCreate, activity_service: ActivityService
    ) -> Response[s.Split]:
        split, split_id = await activity_service.add_split(activity_id, data)
        return Response(
            split, status_code=201, headers={"Location": f"{ACTIVITIES}/{activity_id}/splits/{split_id}"}
        )

    @patch("/{activity_id:uuid}/splits/{split_id:uuid}", operation_id="UpdateSplit")
    async def update_split(
        self,
        activity_id: uuid.UUID,
        split_id: uuid.UUID,
        data: s.SplitUpdate,
        activity_service: ActivityService,
    ) -> s.Split:
        return cast(s.Split, await activity_service.update_part(splits, activity_id, split_id, data))

    @delete("/{activity_id:uuid}/splits/{split_id:uuid}", operation_id="DeleteSplit")
    async def delete_split(
        self, activity_id: uuid.UUID, split_id: uuid.UUID, activity_service: ActivityService
    ) -> None:
        await activity_service.delete_part(splits, activity_id, split_id)
