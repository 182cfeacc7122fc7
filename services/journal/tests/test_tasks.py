"""Tasks over HTTP: CRUD, completed_at rules, filters, every sort with keyset pages, soft delete."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from daybook_journal.testing import TASKS, User, collect, make_tag, make_task


async def test_create_defaults_and_get(api: AsyncTestClient, alice: User) -> None:
    tag = await make_tag(api, alice, "home")
    r = await api.post(TASKS, json={"title": "Fix the sink", "tag_ids": [tag["id"]]}, headers=alice.headers)
    assert r.status_code == 201, r.text
    task = r.json()
    assert r.headers["location"] == f"{TASKS}/{task['id']}"
    assert task["status"] == "todo" and task["priority"] == "medium"
    assert task["due_at"] is None and task["completed_at"] is None and task["description"] is None
    assert task["tag_ids"] == [tag["id"]] and task["user_id"] == str(alice.id)
    r = await api.get(f"{TASKS}/{task['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == task and r.headers["etag"] == '"1"'


async def test_validation(api: AsyncTestClient, alice: User) -> None:
    for body in (
        {"title": ""},
        {"title": "x" * 201},
        {},
        {"title": "a", "status": "later"},
        {"title": "a", "priority": "urgent"},
        {"title": "a", "due_at": "2026-01-01T10:00:00"},
        {"title": "a", "completed_at": "2026-01-01T10:00:00Z"},
        {"title": "a", "id": str(uuid.uuid4())},
    ):
        r = await api.post(TASKS, json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)
    task = await make_task(api, alice)
    r = await api.patch(f"{TASKS}/{task['id']}", json={"title": None}, headers=alice.headers)
    assert r.status_code == 422


async def test_completed_at_follows_status(api: AsyncTestClient, alice: User) -> None:
    done = await make_task(api, alice, status="done")
    assert done["completed_at"] is not None
    task = await make_task(api, alice)
    url = f"{TASKS}/{task['id']}"
    r = await api.patch(url, json={"status": "in_progress"}, headers=alice.headers)
    assert r.json()["completed_at"] is None
    r = await api.patch(url, json={"status": "done"}, headers=alice.headers)
    completed_at = r.json()["completed_at"]
    assert completed_at is not None
    r = await api.patch(url, json={"status": "done", "title": "again"}, headers=alice.headers)
    assert r.json()["completed_at"] == completed_at  # staying done keeps the first time
    r = await api.patch(url, json={"status": "todo"}, headers=alice.headers)
    assert r.json()["completed_at"] is None and r.headers["etag"] == '"5"'


async def test_soft_delete_trash_restore(api: AsyncTestClient, alice: User) -> None:
    task = await make_task(api, alice)
    url = f"{TASKS}/{task['id']}"
    assert (await api.delete(url, headers=alice.headers)).status_code == 204
    assert (await api.get(url, headers=alice.headers)).status_code == 404
    assert task["id"] not in {t["id"] for t in await collect(api, alice, TASKS)}
    assert task["id"] in {t["id"] for t in await collect(api, alice, f"{TASKS}/trash")}
    r = await api.post(f"{url}/restore", headers=alice.headers)
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    assert (await api.get(url, headers=alice.headers)).status_code == 200


async def test_filters(api: AsyncTestClient, new_user) -> None:
    user = new_user()
    a = await make_task(api, user, title="Buy milk", priority="high", due_at="2026-05-01T09:00:00Z")
    b = await make_task(api, user, title="Call mom", status="in_progress", due_at="2026-05-10T09:00:00Z")
    c = await make_task(
        api, user, title="Milk the cow", description="farm chores", status="done", priority="low"
    )

    async def ids(**params: object) -> set[str]:
        return {t["id"] for t in await collect(api, user, TASKS, **params)}

    assert await ids(status="todo") == {a["id"]}
    assert await ids(status=["todo", "done"]) == {a["id"], c["id"]}
    assert await ids(priority="high") == {a["id"]}
    assert await ids(due_before="2026-05-05T00:00:00Z") == {a["id"]}
    assert await ids(due_after="2026-05-05T00:00:00Z") == {b["id"]}
    assert await ids(q="milk") == {a["id"], c["id"]}
    assert await ids(q="chores") == {c["id"]}
    for bad in ({"status": "nope"}, {"sort": "title"}, {"due_before": "soon"}):
        r = await api.get(TASKS, params=bad, headers=user.headers)
        assert r.status_code == 422, (bad, r.text)


async def test_every_sort_orders_and_pages_completely(api: AsyncTestClient, new_user) -> None:
    user = new_user()
    specs = [
        ("high", "2026-06-03T00:00:00Z"),
        ("low", None),
        ("medium", "2026-06-01T00:00:00Z"),
        ("high", None),
        ("low", "2026-06-03T00:00:00Z"),
        ("medium", None),
        ("medium", "2026-06-02T00:00:00Z"),
    ]
    made = [await make_task(api, user, title=f"t{i}", priority=p, due_at=d) for i, (p, d) in enumerate(specs)]
    rank = {"low": 0, "medium": 1, "high": 2}

    def expected(sort: str) -> list[str]:
        key = sort.lstrip("-")
        desc = sort.startswith("-")
        if key == "due_at":
            dated = sorted(
                (t for t in made if t["due_at"]), key=lambda t: (t["due_at"], t["id"]), reverse=desc
            )
            undated = sorted((t for t in made if not t["due_at"]), key=lambda t: t["id"], reverse=desc)
            return [t["id"] for t in dated + undated]  # no due date: last either way
        value = (lambda t: rank[t["priority"]]) if key == "priority" else (lambda t: t["created_at"])
        return [t["id"] for t in sorted(made, key=lambda t: (value(t), t["id"]), reverse=desc)]

    for sort in ("due_at", "-due_at", "created_at", "-created_at", "priority", "-priority"):
        for limit in (1, 2, 3, 100):
            got = [t["id"] for t in await collect(api, user, TASKS, sort=sort, limit=limit)]
            assert got == expected(sort), (sort, limit)
    r = await api.get(TASKS, params={"sort": "priority", "limit": 1}, headers=user.headers)
    cursor = r.json()["next_cursor"]
    r = await api.get(TASKS, params={"sort": "due_at", "cursor": cursor}, headers=user.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    default = [t["id"] for t in await collect(api, user, TASKS)]
    assert default == expected("-created_at")
