"""Real rows of the fuzz account, so the fuzzer's item operations reach their logic instead of ``404``.

A random UUID in ``/goals/{root_id}/sessions`` or ``/sessions/{session_id}/activities/{instance_id}``
only ever finds nothing. :data:`OPERATIONS` names, per operation, the fixture whose ids fill its
path parameters in the positive cases (``fuzz_hooks.before_call``); the fixture is made through the
gateway on first use and made anew once a request consumed it (a ``2xx`` of a delete, restore or
purge, or of emptying that trash: :data:`SPENDS`).  Operations that delete or restore get fixtures
of their own (``*-victim``, ``*-trashed``), so deleting never takes the shared tree away from the
operations that read it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

import httpx

Ids = dict[str, Any]

#: operation id → fixture filling its path parameters (by parameter name).
OPERATIONS: dict[str, str] = {
    # users: a session of a second login of the fuzz account (revoking the run's own would end it)
    "RevokeMySession": "login-session",
    # journal: entries and tags
    "GetEntry": "entry",
    "UpdateEntry": "entry",
    "ListEntryRevisions": "entry",
    "RestoreEntryRevision": "entry",
    "DeleteEntry": "entry-victim",
    "RestoreEntry": "entry-trashed",
    "PurgeTrashedEntry": "entry-trashed",
    "GetTag": "tag",
    "UpdateTag": "tag",
    "DeleteTag": "tag-victim",
    # tasks
    "GetTask": "task",
    "UpdateTask": "task",
    "DeleteTask": "task-victim",
    "RestoreTask": "task-trashed",
    "PurgeTrashedTask": "task-trashed",
    # goals
    "GetGoal": "goal",
    "UpdateGoal": "goal",
    "GetGoalTree": "root",
    "DeleteGoal": "goal-victim",
    "RestoreGoal": "goal-trashed",
    "PurgeTrashedGoal": "goal-trashed",
    "GetGoalStats": "root",
    # activities, metrics, splits
    "ListActivities": "root",
    "CreateActivity": "root",
    "ListActivityGroups": "root",
    "CreateActivityGroup": "root",
    "GetActivityGroup": "group",
    "UpdateActivityGroup": "group",
    "DeleteActivityGroup": "group-victim",
    "ListActivityTrash": "root",
    "CreateMetric": "activity",
    "CreateSplit": "activity",
    "GetActivity": "activity",
    "GetMetric": "activity",
    "GetSplit": "activity",
    "UpdateActivity": "activity",
    "UpdateMetric": "activity",
    "UpdateSplit": "activity",
    "DeleteActivity": "activity-victim",
    "DeleteMetric": "metric-victim",
    "DeleteSplit": "split-victim",
    "RestoreActivity": "activity-trashed",
    # templates
    "ListTemplates": "root",
    "CreateTemplate": "root",
    "GetTemplate": "template",
    "UpdateTemplate": "template",
    "DeleteTemplate": "template-victim",
    # sessions and their activity instances
    "ListSessions": "root",
    "CreateSession": "root",
    "ListSessionTrash": "root",
    "GetSession": "session",
    "UpdateSession": "session",
    "CreateActivityInstance": "session",
    "GetActivityInstance": "session",
    "UpdateActivityInstance": "session",
    "ReplaceMetricValues": "session",
    "StartActivityTimer": "session",
    "StopActivityTimer": "session",
    "DeleteActivityInstance": "instance-victim",
    "DeleteSession": "session-victim",
    "RestoreSession": "session-trashed",
    # reminders and notifications
    "GetReminder": "reminder",
    "UpdateReminder": "reminder",
    "ListReminderOccurrences": "reminder",
    "DeleteReminder": "reminder-victim",
    "RestoreReminder": "reminder-trashed",
    "PurgeTrashedReminder": "reminder-trashed",
    "MarkNotificationRead": "notification",
    "SnoozeNotification": "notification",
}

#: operation id → fixtures its 2xx consumes (made anew on next use).
SPENDS: dict[str, tuple[str, ...]] = {
    "RevokeMySession": ("login-session",),
    "DeleteEntry": ("entry-victim",),
    "RestoreEntry": ("entry-trashed",),
    "PurgeTrashedEntry": ("entry-trashed",),
    "EmptyTrash": ("entry-trashed",),
    "DeleteTag": ("tag-victim",),
    "DeleteTask": ("task-victim",),
    "RestoreTask": ("task-trashed",),
    "PurgeTrashedTask": ("task-trashed",),
    "EmptyTaskTrash": ("task-trashed",),
    "DeleteGoal": ("goal-victim",),
    "RestoreGoal": ("goal-trashed",),
    "PurgeTrashedGoal": ("goal-trashed",),
    "EmptyGoalTrash": ("goal-trashed",),
    "DeleteActivityGroup": ("group-victim",),
    "DeleteActivity": ("activity-victim",),
    "DeleteMetric": ("metric-victim",),
    "DeleteSplit": ("split-victim",),
    "RestoreActivity": ("activity-trashed",),
    "DeleteTemplate": ("template-victim",),
    "DeleteActivityInstance": ("instance-victim",),
    "DeleteSession": ("session-victim",),
    "RestoreSession": ("session-trashed",),
    "DeleteReminder": ("reminder-victim",),
    "RestoreReminder": ("reminder-trashed",),
    "PurgeTrashedReminder": ("reminder-trashed",),
    "EmptyReminderTrash": ("reminder-trashed",),
}

REMINDER = {"title": "fuzz", "message": "fuzz", "frequency": "daily", "time": "12:00", "timezone": "UTC"}


class Fixtures:
    """The fixtures of one fuzz run, made lazily through the gateway with the fuzz account's token."""

    def __init__(self, gateway: str, token: str, users: str) -> None:
        self.http = httpx.Client(base_url=gateway, timeout=30, headers={"Authorization": f"Bearer {token}"})
        self.users = users
        self.made: dict[str, Ids | None] = {}
        self.factories: dict[str, Callable[[], Ids | None]] = {
            "login-session": self._login_session,
            "entry": self._entry,
            "entry-victim": lambda: {"entry_id": self._new_entry()},
            "entry-trashed": lambda: {"entry_id": self._trash("/journal/entries", self._new_entry())},
            "tag": lambda: {"tag_id": self._new_tag()},
            "tag-victim": lambda: {"tag_id": self._new_tag()},
            "task": lambda: {"task_id": self._new_task()},
            "task-victim": lambda: {"task_id": self._new_task()},
            "task-trashed": lambda: {"task_id": self._trash("/tasks", self._new_task())},
            "root": lambda: {"root_id": self._post("/goals", {"title": "fuzz root"})["id"], "goal_id": None},
            "goal": lambda: {"goal_id": self._new_goal()},
            "goal-victim": lambda: {"goal_id": self._new_goal()},
            "goal-trashed": lambda: {"goal_id": self._trash("/goals", self._new_goal())},
            "group": lambda: {"group_id": self._new_group()},
            "group-victim": lambda: {"group_id": self._new_group()},
            "activity": self._activity,
            "activity-victim": lambda: {"activity_id": self._new_activity()["id"]},
            "activity-trashed": lambda: {
                "activity_id": self._trash("/activities", self._new_activity()["id"])
            },
            "metric-victim": lambda: self._part("metrics", "metric_id", {"unit": "kg"}),
            "split-victim": lambda: self._part("splits", "split_id", {}),
            "template": lambda: {"template_id": self._new_template()},
            "template-victim": lambda: {"template_id": self._new_template()},
            "session": self._session,
            "instance-victim": self._instance_victim,
            "session-victim": lambda: {"session_id": self._new_session()},
            "session-trashed": lambda: {"session_id": self._trash("/sessions", self._new_session())},
            "reminder": lambda: {"reminder_id": self._new_reminder()},
            "reminder-victim": lambda: {"reminder_id": self._new_reminder()},
            "reminder-trashed": lambda: {"reminder_id": self._trash("/reminders", self._new_reminder())},
            "notification": self._notification,
        }

    @classmethod
    def from_env(cls) -> Fixtures:
        return cls(
            os.environ["DAYBOOK_FUZZ_GATEWAY_URL"],
            os.environ["DAYBOOK_FUZZ_TOKEN"],
            os.environ["DAYBOOK_FUZZ_USERS_URL"],
        )

    def get(self, name: str) -> Ids | None:
        """The ids of fixture ``name``, made now if it does not exist (``None``: none can be had yet)."""
        if self.made.get(name) is None:
            self.made[name] = self.factories[name]()
        return self.made[name]

    def spend(self, name: str) -> None:
        self.made.pop(name, None)

    # -- requests ------------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(f"/api/v1{path}", json=body)
        response.raise_for_status()
        return response.json()

    def _trash(self, collection: str, item_id: str) -> str:
        self.http.delete(f"/api/v1{collection}/{item_id}").raise_for_status()
        return item_id

    def _root(self) -> str:
        ids = self.get("root")
        assert ids is not None
        return str(ids["root_id"])

    def _activity_ids(self) -> Ids:
        ids = self.get("activity")
        assert ids is not None
        return ids

    def _session_ids(self) -> Ids:
        ids = self.get("session")
        assert ids is not None
        return ids

    # -- factories -----------------------------------------------------------------------------
    def _login_session(self) -> Ids:
        """A second login of the fuzz account (on the users service: the gateway throttles logins)."""
        credentials = {
            "email": os.environ["DAYBOOK_FUZZ_EMAIL"],
            "password": os.environ["DAYBOOK_FUZZ_PASSWORD"],
        }
        with httpx.Client(base_url=self.users, timeout=30) as users:
            login = users.post("/api/v1/auth/login", json=credentials)
            if login.status_code == 429:
                # Generated wrong current passwords on POST /users/me/password lock the fuzz
                # account's email for 15 min (five failed logins): no second session then, and
                # the case keeps its generated id (a 404).
                return {}
            login.raise_for_status()
            token = login.json()["access_token"]
            sessions = users.get("/api/v1/users/me/sessions", headers={"Authorization": f"Bearer {token}"})
            sessions.raise_for_status()
        return {"session_id": next(s["id"] for s in sessions.json()["items"] if s["current"])}

    def _new_entry(self) -> str:
        return str(
            self._post("/journal/entries", {"entry_date": "2026-01-02T08:00:00Z", "content": "fuzz"})["id"]
        )

    def _entry(self) -> Ids:
        entry_id = self._new_entry()
        self.http.patch(
            f"/api/v1/journal/entries/{entry_id}", json={"content": "fuzz, again"}
        ).raise_for_status()
        revisions = self.http.get(f"/api/v1/journal/entries/{entry_id}/revisions")
        revisions.raise_for_status()
        return {"entry_id": entry_id, "revision": revisions.json()["items"][0]["revision"]}

    def _new_tag(self) -> str:
        return str(self._post("/journal/tags", {"name": f"fuzz-{uuid.uuid4().hex[:8]}"})["id"])

    def _new_task(self) -> str:
        return str(self._post("/tasks", {"title": "fuzz"})["id"])

    def _new_goal(self) -> str:
        return str(self._post("/goals", {"title": "fuzz", "parent_id": self._root()})["id"])

    def _new_group(self) -> str:
        name = f"fuzz-{uuid.uuid4().hex[:8]}"  # unique in its tree
        return str(self._post(f"/goals/{self._root()}/activity-groups", {"name": name})["id"])

    def _new_activity(self) -> Any:
        name = f"fuzz-{uuid.uuid4().hex[:8]}"  # unique in its tree
        body = {"name": name, "metrics": [{"name": "weight", "unit": "kg"}], "splits": [{"name": "left"}]}
        return self._post(f"/goals/{self._root()}/activities", body)

    def _activity(self) -> Ids:
        activity = self._new_activity()
        return {
            "root_id": self._root(),
            "activity_id": activity["id"],
            "metric_id": activity["metrics"][0]["id"],
            "split_id": activity["splits"][0]["id"],
        }

    def _part(self, kind: str, key: str, body: dict[str, Any]) -> Ids:
        activity_id = self._activity_ids()["activity_id"]
        body = {"name": f"fuzz-{uuid.uuid4().hex[:8]}", **body}  # unique in its activity
        return {"activity_id": activity_id, key: self._post(f"/activities/{activity_id}/{kind}", body)["id"]}

    def _new_template(self) -> str:
        name = f"fuzz-{uuid.uuid4().hex[:8]}"  # unique in its tree (a second "fuzz" template is 409)
        body = {"name": name, "activity_ids": [self._activity_ids()["activity_id"]]}
        return str(self._post(f"/goals/{self._root()}/templates", body)["id"])

    def _new_session(self) -> str:
        return str(self._post(f"/goals/{self._root()}/sessions", {"title": "fuzz"})["id"])

    def _new_instance(self, session_id: str) -> str:
        body = {"activity_id": self._activity_ids()["activity_id"]}
        return str(self._post(f"/sessions/{session_id}/activities", body)["id"])

    def _session(self) -> Ids:
        session_id = self._new_session()
        return {"session_id": session_id, "instance_id": self._new_instance(session_id)}

    def _instance_victim(self) -> Ids:
        session_id = self._session_ids()["session_id"]
        return {"session_id": session_id, "instance_id": self._new_instance(session_id)}

    def _new_reminder(self) -> str:
        return str(self._post("/reminders", REMINDER)["id"])

    def _notification(self) -> Ids | None:
        """A notification exists once the scheduler fired the reminder ``fuzz.py`` set a minute ahead."""
        page = self.http.get("/api/v1/notifications")
        page.raise_for_status()
        items = page.json()["items"]
        return {"notification_id": items[0]["id"]} if items else None
