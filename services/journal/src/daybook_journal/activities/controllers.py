"""HTTP for activities, activity groups, metric and split definitions."""

from __future__ import annotations

import uuid
from typing import Any, cast

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import Provide

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
from daybook_journal.activities import schemas as s
from daybook_journal.activities.services import ActivityService, metrics, splits
from daybook_journal.goals.controllers import GOALS
from daybook_journal.practice_http import idempotent_create

ACTIVITIES = "/api/v1/activities"


def provide_activities(user_db: UserDb) -> ActivityService:
    return ActivityService(user_db)


_DEPENDENCIES = {"activity_service": Provide(provide_activities, sync_to_thread=False)}


class TreeActivityController(Controller):
    """What a goal tree owns: ``/goals/{root_id}/activity-groups`` and ``…/activities``."""

    path = GOALS + "/{root_id:uuid}"
    tags = ["activities"]
    dependencies = _DEPENDENCIES

    @post("/activity-groups", operation_id="CreateActivityGroup")
    async def create_group(
        self,
        request: Request[Any, Any, Any],
        root_id: uuid.UUID,
        data: s.ActivityGroupCreate,
        activity_service: ActivityService,
        idempotency: IdempotencyKeys,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.ActivityGroup]:
        async def create() -> tuple[s.ActivityGroup, int, str]:
            group, version = await activity_service.create_group(root_id, data)
            return group, version, f"{GOALS}/{root_id}/activity-groups"

        return await idempotent_create(request, data, idempotency, idempotency_key, create)

    @get("/activity-groups", operation_id="ListActivityGroups", summary="A tree's groups by sort_order")
    async def list_groups(
        self,
        root_id: uuid.UUID,
        activity_service: ActivityService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[s.ActivityGroup]:
        items, next_cursor = await activity_service.list_groups(root_id, cursor, limit)
        return Page(items=items, next_cursor=next_cursor)

    @post("/activities", operation_id="CreateActivity")
    async def create_activity(
        self,
        request: Request[Any, Any, Any],
        root_id: uuid.UUID,
        data: s.ActivityCreate,
        activity_service: ActivityService,
        idempotency: IdempotencyKeys,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[s.Activity]:
        async def create() -> tuple[s.Activity, int, str]:
            activity, version = await activity_service.create(root_id, data)
            return activity, version, f"{ACTIVITIES}/{activity.id}"

        return await idempotent_create(request, data, idempotency, idempotency_key, create)

    @get("/activities", operation_id="ListActivities", summary="A tree's live activities by name")
    async def list_activities(
        self,
        root_id: uuid.UUID,
        activity_service: ActivityService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[s.Activity]:
        items, next_cursor = await activity_service.page(root_id, cursor, limit)
        return Page(items=items, next_cursor=next_cursor)

    @get(
        "/activities/trash",
        operation_id="ListActivityTrash",
        summary="A tree's deleted activities, latest first",
    )
    async def list_trash(
        self,
        root_id: uuid.UUID,
        activity_service: ActivityService,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[s.Activity]:
        items, next_cursor = await activity_service.trash(root_id, cursor, limit)
        return Page(items=items, next_cursor=next_cursor)


class ActivityController(Controller):
    path = ACTIVITIES
    tags = ["activities"]
    dependencies = _DEPENDENCIES

    @get(
        "/{activity_id:uuid}", operation_id="GetActivity", summary="One activity with its metrics and splits"
    )
    async def get_activity(
        self,
        activity_id: uuid.UUID,
        activity_service: ActivityService,
        if_none_match: IfNoneMatchHeader = None,
    ) -> Response[s.Activity]:
        activity, version = await activity_service.get(activity_id)
        return cast(Response[s.Activity], read_response(activity, version, if_none_match))

    @patch("/{activity_id:uuid}", operation_id="UpdateActivity")
    async def update_activity(
        self,
        activity_id: uuid.UUID,
        data: s.ActivityUpdate,
        activity_service: ActivityService,
        if_match: IfMatchHeader = None,
    ) -> Response[s.Activity]:
        activity, version = await activity_service.update(activity_id, data, expected_version(if_match))
        return cast(Response[s.Activity], json_response(activity, version=version))

    @delete("/{activity_id:uuid}", operation_id="DeleteActivity", summary="Soft-delete an activity")
    async def delete_activity(
        self, activity_id: uuid.UUID, activity_service: ActivityService, if_match: IfMatchHeader = None
    ) -> None:
        await activity_service.delete(activity_id, expected_version(if_match))

    @post("/{activity_id:uuid}/restore", operation_id="RestoreActivity", status_code=200)
    async def restore_activity(
        self, activity_id: uuid.UUID, activity_service: ActivityService
    ) -> Response[s.Activity]:
        activity, version = await activity_service.restore(activity_id)
        return cast(Response[s.Activity], json_response(activity, version=version))

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
