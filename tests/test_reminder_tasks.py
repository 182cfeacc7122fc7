"""A reminder's ``task_id`` is one of the caller's live tasks; deleting the task detaches it.

Reminders learns tasks from journal's ``journal.task.*`` events (its own projection, no read of
journal's schema); through the gateway only.
"""

from __future__ import annotations

import time
import uuid

import httpx
from uuid_utils.compat import uuid7

PASSWORD = "correct horse battery staple"
REMINDER = {"title": "r", "message": "m", "frequency": "daily", "time": "09:00", "timezone": "Europe/Berlin"}


def account(http: httpx.Client) -> dict[str, str]:
    email = f"tasks-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def task(http: httpx.Client, auth: dict[str, str]) -> str:
    r = http.post("/api/v1/tasks", json={"title": "call the plumber"}, headers=auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def refused_task_id(r: httpx.Response) -> bool:
    return r.status_code == 422 and any(e["field"] == "task_id" for e in r.json().get("errors", []))


def test_a_reminder_made_right_after_its_task_is_accepted(http: httpx.Client) -> None:
    auth = account(http)
    for _ in range(3):  # no pause: the task's event may still be on its way
        task_id = task(http, auth)
        r = http.post("/api/v1/reminders", json={**REMINDER, "task_id": task_id}, headers=auth)
        assert r.status_code == 201, r.text
        assert r.json()["task_id"] == task_id
    # An id made just now that no task has: waited for (REMINDERS_TASK_EVENT_WAIT_SECONDS), then refused.
    invented = str(uuid7())
    r = http.post("/api/v1/reminders", json={**REMINDER, "task_id": invented}, headers=auth)
    assert refused_task_id(r), r.text


def test_unknown_foreign_and_deleted_tasks_are_refused(http: httpx.Client) -> None:
    auth, other = account(http), account(http)
    theirs = task(http, other)
    mine = task(http, auth)
    assert http.post("/api/v1/reminders", json={**REMINDER, "task_id": mine}, headers=auth).status_code == 201
    for task_id in (str(uuid.uuid4()), theirs):
        r = http.post("/api/v1/reminders", json={**REMINDER, "task_id": task_id}, headers=auth)
        assert refused_task_id(r), r.text
    gone = task(http, auth)
    assert http.delete(f"/api/v1/tasks/{gone}", headers=auth).status_code == 204
    deadline = time.monotonic() + 15
    while True:  # once the delete event is in, the task is refused
        r = http.post("/api/v1/reminders", json={**REMINDER, "task_id": gone}, headers=auth)
        if r.status_code != 201 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert refused_task_id(r), r.text
    reminder = http.post("/api/v1/reminders", json=REMINDER, headers=auth).json()
    r = http.patch(f"/api/v1/reminders/{reminder['id']}", json={"task_id": theirs}, headers=auth)
    assert refused_task_id(r), r.text
    r = http.patch(f"/api/v1/reminders/{reminder['id']}", json={"task_id": mine}, headers=auth)
    assert r.status_code == 200 and r.json()["task_id"] == mine, r.text


def test_deleting_a_task_detaches_its_reminders_and_restoring_it_allows_it_again(http: httpx.Client) -> None:
    auth = account(http)
    task_id = task(http, auth)
    ids = []
    for _ in range(2):
        r = http.post("/api/v1/reminders", json={**REMINDER, "task_id": task_id}, headers=auth)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert http.delete(f"/api/v1/tasks/{task_id}", headers=auth).status_code == 204

    def attached() -> list[object]:
        return [http.get(f"/api/v1/reminders/{i}", headers=auth).json()["task_id"] for i in ids]

    deadline = time.monotonic() + 15
    while attached() != [None, None] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert attached() == [None, None]

    assert http.post(f"/api/v1/tasks/{task_id}/restore", headers=auth).status_code == 200
    deadline = time.monotonic() + 15
    while True:
        r = http.patch(f"/api/v1/reminders/{ids[0]}", json={"task_id": task_id}, headers=auth)
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status_code == 200 and r.json()["task_id"] == task_id, r.text
    assert attached() == [task_id, None]  # a restore re-attaches nothing by itself
