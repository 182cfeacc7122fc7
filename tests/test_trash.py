"""The caller's own hard delete of trash (entries, tasks, goals, reminders), through the gateway.

``DELETE …/trash/{id}`` removes one trashed item for good (404 for a live item, an unknown id
or another user's); ``DELETE …/trash`` empties the caller's trash of that kind and nobody
else's.  "Gone for good" is checked the way a client can: the restore answers 404 after it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

PASSWORD = "correct horse battery staple"


def _account(http: httpx.Client) -> dict[str, str]:
    email = f"trash-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@dataclass(frozen=True)
class Kind:
    """One kind of trash: where items are made, deleted, listed, restored and purged."""

    collection: str  # POST here creates, {collection}/{id} deletes
    trash: str
    body: dict[str, Any]

    def make(self, http: httpx.Client, user: dict[str, str]) -> str:
        r = http.post(self.collection, json=self.body, headers=user)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def trashed(self, http: httpx.Client, user: dict[str, str]) -> str:
        item = self.make(http, user)
        assert http.delete(f"{self.collection}/{item}", headers=user).status_code == 204
        return item

    def in_trash(self, http: httpx.Client, user: dict[str, str]) -> set[str]:
        r = http.get(self.trash, params={"limit": 100}, headers=user)
        assert r.status_code == 200, r.text
        return {item["id"] for item in r.json()["items"]}

    def restore(self, http: httpx.Client, user: dict[str, str], item: str) -> int:
        path = "/api/v1/journal/entries" if self.collection.endswith("/entries") else self.collection
        return http.post(f"{path}/{item}/restore", headers=user).status_code


KINDS = {
    "entries": Kind(
        "/api/v1/journal/entries",
        "/api/v1/journal/trash",
        {"content": "to forget", "entry_date": "2026-01-22T10:00:00Z"},
    ),
    "tasks": Kind("/api/v1/tasks", "/api/v1/tasks/trash", {"title": "to forget"}),
    "goals": Kind("/api/v1/goals", "/api/v1/goals/trash", {"title": "to forget"}),
    "reminders": Kind(
        "/api/v1/reminders",
        "/api/v1/reminders/trash",
        {"title": "r", "message": "m", "frequency": "daily", "time": "09:00", "timezone": "Europe/Berlin"},
    ),
}


@pytest.mark.parametrize("name", list(KINDS))
def test_one_trashed_item_is_deleted_for_good(http: httpx.Client, name: str) -> None:
    kind = KINDS[name]
    alice, bob = _account(http), _account(http)
    doomed, kept = kind.trashed(http, alice), kind.trashed(http, alice)
    live = kind.make(http, alice)

    assert http.delete(f"{kind.trash}/{doomed}", headers=bob).status_code == 404  # not bob's
    assert http.delete(f"{kind.trash}/{live}", headers=alice).status_code == 404  # not in the trash
    assert http.delete(f"{kind.trash}/{uuid.uuid4()}", headers=alice).status_code == 404
    r = http.delete(f"{kind.trash}/{doomed}", headers=alice)
    assert r.status_code == 204, r.text

    assert kind.in_trash(http, alice) == {kept}
    assert kind.restore(http, alice, doomed) == 404
    assert http.delete(f"{kind.trash}/{doomed}", headers=alice).status_code == 404  # already gone
    assert http.get(f"{kind.collection}/{live}", headers=alice).status_code == 200
    assert kind.restore(http, alice, kept) == 200


@pytest.mark.parametrize("name", list(KINDS))
def test_emptying_the_trash_touches_only_the_callers_trash(http: httpx.Client, name: str) -> None:
    kind = KINDS[name]
    alice, bob = _account(http), _account(http)
    alices = {kind.trashed(http, alice) for _ in range(3)}
    bobs = kind.trashed(http, bob)
    live = kind.make(http, alice)
    assert kind.in_trash(http, alice) == alices

    r = http.delete(kind.trash, headers=alice)
    assert r.status_code == 204, r.text

    assert kind.in_trash(http, alice) == set()
    assert all(kind.restore(http, alice, item) == 404 for item in alices)
    assert kind.in_trash(http, bob) == {bobs}
    assert http.get(f"{kind.collection}/{live}", headers=alice).status_code == 200
    assert http.delete(kind.trash, headers=alice).status_code == 204  # an empty trash: nothing to do


def test_a_purged_goal_takes_its_subtree_and_frees_the_tasks_naming_it(http: httpx.Client) -> None:
    alice = _account(http)
    root = http.post("/api/v1/goals", json={"title": "root"}, headers=alice).json()["id"]
    child = http.post("/api/v1/goals", json={"title": "child", "parent_id": root}, headers=alice).json()["id"]
    r = http.post("/api/v1/tasks", json={"title": "towards it", "goal_id": child}, headers=alice)
    assert r.status_code == 201, r.text
    task, etag = r.json()["id"], r.headers["ETag"]
    assert http.delete(f"/api/v1/goals/{root}", headers=alice).status_code == 204

    # Only a deletion's top goal is in the trash
    assert http.delete(f"/api/v1/goals/trash/{child}", headers=alice).status_code == 404
    assert http.delete(f"/api/v1/goals/trash/{root}", headers=alice).status_code == 204

    r = http.get(f"/api/v1/tasks/{task}", headers=alice)
    assert r.status_code == 200
    assert r.json()["goal_id"] is None
    assert r.headers["ETag"] != etag
    assert http.post(f"/api/v1/goals/{child}/restore", headers=alice).status_code == 404
