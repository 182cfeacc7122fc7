"""OpenAPI ``links`` of the merged document: which answer supplies the ids of which operations.

An item operation (``GET /sessions/{session_id}``) needs an id only the server issues. The links
say where a client gets it (the ``201`` of ``CreateSession``, the path of a ``204`` delete for its
restore), so a stateful fuzzer or a generated client can chain the calls instead of guessing ids.
One table, :data:`LINKS`; :func:`add_links` writes it into the operations present in the document
(a service that could not be reached simply contributes none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ID = "$response.body#/id"


def _path(name: str) -> str:
    return f"$request.path.{name}"


#: (source operation, status, target operations, target parameter → runtime expression)
LINKS: tuple[tuple[str, str, tuple[str, ...], Mapping[str, str]], ...] = (
    ("CreateGoal", "201", ("GetGoal", "UpdateGoal", "DeleteGoal", "GetGoalTree"), {"goal_id": ID}),
    (
        "CreateGoal",
        "201",
        (
            "ListActivities",
            "CreateActivity",
            "ListActivityGroups",
            "CreateActivityGroup",
            "ListActivityTrash",
            "ListTemplates",
            "CreateTemplate",
            "ListSessions",
            "CreateSession",
            "ListSessionTrash",
            "GetGoalStats",
        ),
        {"root_id": "$response.body#/root_id"},
    ),
    ("DeleteGoal", "204", ("RestoreGoal", "PurgeTrashedGoal"), {"goal_id": _path("goal_id")}),
    (
        "CreateActivityGroup",
        "201",
        ("GetActivityGroup", "UpdateActivityGroup", "DeleteActivityGroup"),
        {"group_id": ID},
    ),
    (
        "CreateActivity",
        "201",
        ("GetActivity", "UpdateActivity", "DeleteActivity", "CreateMetric", "CreateSplit"),
        {"activity_id": ID},
    ),
    ("DeleteActivity", "204", ("RestoreActivity",), {"activity_id": _path("activity_id")}),
    (
        "CreateMetric",
        "201",
        ("GetMetric", "UpdateMetric", "DeleteMetric"),
        {"activity_id": _path("activity_id"), "metric_id": ID},
    ),
    (
        "CreateSplit",
        "201",
        ("GetSplit", "UpdateSplit", "DeleteSplit"),
        {"activity_id": _path("activity_id"), "split_id": ID},
    ),
    ("CreateTemplate", "201", ("GetTemplate", "UpdateTemplate", "DeleteTemplate"), {"template_id": ID}),
    (
        "CreateSession",
        "201",
        ("GetSession", "UpdateSession", "DeleteSession", "CreateActivityInstance"),
        {"session_id": ID},
    ),
    ("DeleteSession", "204", ("RestoreSession",), {"session_id": _path("session_id")}),
    (
        "CreateActivityInstance",
        "201",
        (
            "GetActivityInstance",
            "UpdateActivityInstance",
            "DeleteActivityInstance",
            "ReplaceMetricValues",
            "StartActivityTimer",
            "StopActivityTimer",
        ),
        {"session_id": "$response.body#/session_id", "instance_id": ID},
    ),
    (
        "CreateEntry",
        "201",
        ("GetEntry", "UpdateEntry", "DeleteEntry", "ListEntryRevisions"),
        {"entry_id": ID},
    ),
    ("DeleteEntry", "204", ("RestoreEntry", "PurgeTrashedEntry"), {"entry_id": _path("entry_id")}),
    ("CreateTag", "201", ("GetTag", "UpdateTag", "DeleteTag"), {"tag_id": ID}),
    ("CreateTask", "201", ("GetTask", "UpdateTask", "DeleteTask"), {"task_id": ID}),
    ("DeleteTask", "204", ("RestoreTask", "PurgeTrashedTask"), {"task_id": _path("task_id")}),
    (
        "CreateReminder",
        "201",
        ("GetReminder", "UpdateReminder", "DeleteReminder", "ListReminderOccurrences"),
        {"reminder_id": ID},
    ),
    (
        "DeleteReminder",
        "204",
        ("RestoreReminder", "PurgeTrashedReminder"),
        {"reminder_id": _path("reminder_id")},
    ),
)


def add_links(document: Mapping[str, Any]) -> None:
    """Write :data:`LINKS` into ``document`` (in place), between operations it has."""
    operations: dict[str, dict[str, Any]] = {}
    for item in (document.get("paths") or {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and isinstance(operation.get("operationId"), str):
                operations[operation["operationId"]] = operation
    for source, status, targets, parameters in LINKS:
        response = (operations.get(source) or {}).get("responses", {}).get(status)
        if not isinstance(response, dict):
            continue
        links = response.setdefault("links", {})
        for target in targets:
            if target in operations:
                links[target] = {"operationId": target, "parameters": dict(parameters)}
        if not links:
            del response["links"]
