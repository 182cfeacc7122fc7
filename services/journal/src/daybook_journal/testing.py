"""Helpers for the journal's HTTP tests (and for other test suites that drive the journal API)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient


@dataclass
class User:
    id: uuid.UUID
    headers: dict[str, str]


ENTRIES = "/api/v1/journal/entries"
TAGS = "/api/v1/journal/tags"
TRASH = "/api/v1/journal/trash"
TASKS = "/api/v1/tasks"


async def make_tag(
    api: AsyncTestClient[Litestar], user: User, name: str, color: str = "#112233"
) -> dict[str, Any]:
    r = await api.post(TAGS, json={"name": name, "color": color}, headers=user.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_entry(api: AsyncTestClient[Litestar], user: User, **fields: Any) -> dict[str, Any]:
    body = {"entry_date": "2026-01-22T10:00:00Z", "content": "hello", **fields}
    r = await api.post(ENTRIES, json=body, headers=user.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def make_task(api: AsyncTestClient[Litestar], user: User, **fields: Any) -> dict[str, Any]:
    r = await api.post(TASKS, json={"title": "a task", **fields}, headers=user.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def collect(
    api: AsyncTestClient[Litestar], user: User, url: str, **params: Any
) -> list[dict[str, Any]]:
    """Every item of a paginated list, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await api.get(url, params=query, headers=user.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items


GOALS = "/api/v1/goals"


async def make_goal(
    api: AsyncTestClient[Litestar], user: User, title: str = "a goal", **fields: Any
) -> dict[str, Any]:
    r = await api.post(GOALS, json={"title": title, **fields}, headers=user.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


ACTIVITIES = "/api/v1/activities"


async def make_activity(
    api: AsyncTestClient[Litestar], user: User, root_id: str, name: str = "Run", **fields: Any
) -> dict[str, Any]:
    r = await api.post(f"{GOALS}/{root_id}/activities", json={"name": name, **fields}, headers=user.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


SESSIONS = "/api/v1/sessions"
TEMPLATES = "/api/v1/templates"


async def make_session(
    api: AsyncTestClient[Litestar], user: User, root_id: str, **fields: Any
) -> dict[str, Any]:
    r = await api.post(f"{GOALS}/{root_id}/sessions", json=fields, headers=user.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())
