"""Goal trees over HTTP: create, lists, tree, moves (re-root, cycles, depth), subtree delete/restore."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from daybook_journal.testing import GOALS, User, collect, make_goal


async def chain(
    api: AsyncTestClient, user: User, length: int, parent: str | None = None
) -> list[dict[str, Any]]:
    goals: list[dict[str, Any]] = []
    for i in range(length):
        goals.append(await make_goal(api, user, f"level {i}", parent_id=parent))
        parent = goals[-1]["id"]
    return goals


async def test_create_root_and_children(api: AsyncTestClient, alice: User) -> None:
    root = await make_goal(
        api, alice, "Run a marathon", description="by autumn", deadline="2999-09-01T00:00:00Z"
    )
    assert root["root_id"] == root["id"] and root["parent_id"] is None and root["depth"] == 0
    assert root["status"] == "active" and root["completed_at"] is None and root["sort_order"] == 0
    assert root["user_id"] == str(alice.id) and root["deadline"].startswith("2999-09-01T00:00:00")
    child = await make_goal(api, alice, "10 km", parent_id=root["id"])
    assert (child["root_id"], child["parent_id"], child["depth"]) == (root["id"], root["id"], 1)
    r = await api.get(f"{GOALS}/{child['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == child and r.headers["etag"] == '"1"'
    r = await api.get(f"{GOALS}/{child['id']}", headers={**alice.headers, "If-None-Match": '"1"'})
    assert r.status_code == 304


async def test_validation(api: AsyncTestClient, alice: User) -> None:
    root = await make_goal(api, alice)
    for body in (
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": "a", "status": "done"},
        {"title": "a", "root_id": root["id"]},
        {"title": "a", "deadline": "2030-01-01T00:00:00"},
        {"title": "a", "deadline": "2001-01-01T00:00:00Z"},  # before created_at
        {"title": "a", "parent_id": str(uuid.uuid4())},
        {"title": "a", "sort_order": 2**31},
    ):
        r = await api.post(GOALS, json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await api.patch(
        f"{GOALS}/{root['id']}", json={"deadline": "2001-01-01T00:00:00Z"}, headers=alice.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "deadline"
    r = await api.patch(f"{GOALS}/{root['id']}", json={"status": "paused"}, headers=alice.headers)
    assert r.status_code == 422


async def test_status_sets_completed_at_and_if_match(api: AsyncTestClient, alice: User) -> None:
    goal = await make_goal(api, alice)
    url = f"{GOALS}/{goal['id']}"
    r = await api.patch(url, json={"status": "done"}, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["completed_at"] is not None and r.headers["etag"] == '"2"'
    r = await api.patch(url, json={"title": "stale"}, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 412
    r = await api.patch(url, json={"status": "archived"}, headers=alice.headers)
    assert r.json()["completed_at"] is None and r.json()["status"] == "archived"
    assert (await api.delete(url, headers={**alice.headers, "If-Match": '"1"'})).status_code == 412


async def test_lists_roots_and_tree_order(api: AsyncTestClient, new_user: Any) -> None:
    user = new_user()
    a = await make_goal(api, user, "A", sort_order=2)
    b = await make_goal(api, user, "B", sort_order=1)
    c = await make_goal(api, user, "C", sort_order=1)
    roots = await collect(api, user, GOALS, limit=1)
    assert [g["id"] for g in roots] == [b["id"], c["id"], a["id"]]
    a2 = await make_goal(api, user, "A2", parent_id=a["id"], sort_order=5)
    a1 = await make_goal(api, user, "A1", parent_id=a["id"], sort_order=-1)
    a11 = await make_goal(api, user, "A11", parent_id=a1["id"])
    a21 = await make_goal(api, user, "A21", parent_id=a2["id"])
    tree = await collect(api, user, GOALS, root_id=a["id"], limit=2)
    assert [g["id"] for g in tree] == [a["id"], a1["id"], a2["id"], a11["id"], a21["id"]]
    r = await api.get(f"{GOALS}/{a['id']}/tree", headers=user.headers)
    assert r.status_code == 200
    nested = r.json()
    assert [ch["title"] for ch in nested["children"]] == ["A1", "A2"]
    assert [ch["title"] for ch in nested["children"][0]["children"]] == ["A11"]
    assert nested["children"][1]["children"][0]["id"] == a21["id"]
    assert nested["children"][0]["children"][0]["children"] == []
    r = await api.get(f"{GOALS}/{a1['id']}/tree", headers=user.headers)
    assert r.json()["id"] == a1["id"] and [ch["id"] for ch in r.json()["children"]] == [a11["id"]]
    # ?root_id= must name a root of the caller.
    r = await api.get(GOALS, params={"root_id": a1["id"]}, headers=user.headers)
    assert r.status_code == 404


async def test_depth_limit_on_create_and_move(api: AsyncTestClient, alice: User) -> None:
    goals = await chain(api, alice, 12)
    assert goals[-1]["depth"] == 11
    r = await api.post(GOALS, json={"title": "too deep", "parent_id": goals[-1]["id"]}, headers=alice.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "parent_id"
    other = await chain(api, alice, 2)  # depth 0 and 1: moving it under level 10 would reach 12
    r = await api.patch(
        f"{GOALS}/{other[0]['id']}", json={"parent_id": goals[10]["id"]}, headers=alice.headers
    )
    assert r.status_code == 422
    r = await api.patch(
        f"{GOALS}/{other[0]['id']}", json={"parent_id": goals[9]["id"]}, headers=alice.headers
    )
    assert r.status_code == 200 and r.json()["depth"] == 10
    r = await api.get(f"{GOALS}/{other[1]['id']}", headers=alice.headers)
    assert r.json()["depth"] == 11 and r.json()["root_id"] == goals[0]["id"]


async def test_move_re_roots_the_subtree_and_refuses_cycles(api: AsyncTestClient, alice: User) -> None:
    t1 = await chain(api, alice, 3)
    t2 = await make_goal(api, alice, "other tree")
    for target in (t1[0]["id"], t1[2]["id"]):  # under itself, under its descendant
        r = await api.patch(f"{GOALS}/{t1[0]['id']}", json={"parent_id": target}, headers=alice.headers)
        assert r.status_code == 422, r.text
    r = await api.patch(f"{GOALS}/{t1[1]['id']}", json={"parent_id": t1[2]["id"]}, headers=alice.headers)
    assert r.status_code == 422
    # Into another tree: the whole subtree follows, depths and root_id updated.
    r = await api.patch(f"{GOALS}/{t1[1]['id']}", json={"parent_id": t2["id"]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["root_id"], moved["parent_id"], moved["depth"]) == (t2["id"], t2["id"], 1)
    leaf = (await api.get(f"{GOALS}/{t1[2]['id']}", headers=alice.headers)).json()
    assert (leaf["root_id"], leaf["depth"]) == (t2["id"], 2)
    # To the top: a root of its own.
    r = await api.patch(f"{GOALS}/{t1[1]['id']}", json={"parent_id": None}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["root_id"] == t1[1]["id"] and r.json()["depth"] == 0
    leaf = (await api.get(f"{GOALS}/{t1[2]['id']}", headers=alice.headers)).json()
    assert (leaf["root_id"], leaf["depth"]) == (t1[1]["id"], 1)
    # A root moved under another tree.
    r = await api.patch(f"{GOALS}/{t1[1]['id']}", json={"parent_id": t1[0]["id"]}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["root_id"] == t1[0]["id"]
    tree = await collect(api, alice, GOALS, root_id=t1[0]["id"])
    assert {g["id"] for g in tree} == {t1[0]["id"], t1[1]["id"], t1[2]["id"]}


async def test_concurrent_conflicting_moves_cannot_make_a_cycle(
    concurrent_api: httpx.AsyncClient, api: AsyncTestClient, alice: User
) -> None:
    for _ in range(5):
        a = await make_goal(api, alice, "A")
        b = await make_goal(api, alice, "B")
        r1, r2 = await asyncio.gather(
            concurrent_api.patch(f"{GOALS}/{a['id']}", json={"parent_id": b["id"]}, headers=alice.headers),
            concurrent_api.patch(f"{GOALS}/{b['id']}", json={"parent_id": a["id"]}, headers=alice.headers),
        )
        assert sorted([r1.status_code, r2.status_code]) == [200, 422], (r1.text, r2.text)
        a_now = (await api.get(f"{GOALS}/{a['id']}", headers=alice.headers)).json()
        b_now = (await api.get(f"{GOALS}/{b['id']}", headers=alice.headers)).json()
        assert {a_now["depth"], b_now["depth"]} == {0, 1}
        assert a_now["root_id"] == b_now["root_id"]


async def test_subtree_delete_trash_and_exact_restore(api: AsyncTestClient, new_user: Any) -> None:
    user = new_user()
    root = await make_goal(api, user, "root")
    a = await make_goal(api, user, "a", parent_id=root["id"])
    a1 = await make_goal(api, user, "a1", parent_id=a["id"])
    a2 = await make_goal(api, user, "a2", parent_id=a["id"])
    # a2 deleted on its own first: restoring a later brings back a and a1 only.
    assert (await api.delete(f"{GOALS}/{a2['id']}", headers=user.headers)).status_code == 204
    assert (await api.delete(f"{GOALS}/{a['id']}", headers=user.headers)).status_code == 204
    for goal in (a, a1, a2):
        assert (await api.get(f"{GOALS}/{goal['id']}", headers=user.headers)).status_code == 404
    assert [g["id"] for g in await collect(api, user, GOALS, root_id=root["id"])] == [root["id"]]
    trash = await collect(api, user, f"{GOALS}/trash", limit=1)
    assert [g["id"] for g in trash] == [a["id"], a2["id"]] and trash[0]["deleted_at"] is not None
    # Only a deletion's top goal can be restored, and not under a trashed parent.
    assert (await api.post(f"{GOALS}/{a1['id']}/restore", headers=user.headers)).status_code == 404
    assert (await api.post(f"{GOALS}/{a2['id']}/restore", headers=user.headers)).status_code == 409
    r = await api.post(f"{GOALS}/{a['id']}/restore", headers=user.headers)
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    ids = {g["id"] for g in await collect(api, user, GOALS, root_id=root["id"])}
    assert ids == {root["id"], a["id"], a1["id"]}
    assert (await api.post(f"{GOALS}/{a2['id']}/restore", headers=user.headers)).status_code == 200
    tree = (await api.get(f"{GOALS}/{root['id']}/tree", headers=user.headers)).json()
    assert {ch["id"] for ch in tree["children"][0]["children"]} == {a1["id"], a2["id"]}
    assert await collect(api, user, f"{GOALS}/trash") == []


async def test_idempotent_create(api: AsyncTestClient, alice: User) -> None:
    headers = {**alice.headers, "Idempotency-Key": f"goal-{uuid.uuid4()}"}
    first = await api.post(GOALS, json={"title": "once"}, headers=headers)
    again = await api.post(GOALS, json={"title": "once"}, headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert first.headers["location"] == f"{GOALS}/{first.json()['id']}"


async def test_other_users_goals_are_404(api: AsyncTestClient, alice: User, bob: User) -> None:
    root = await make_goal(api, alice)
    child = await make_goal(api, alice, parent_id=root["id"])
    url = f"{GOALS}/{child['id']}"
    assert (await api.get(url, headers=bob.headers)).status_code == 404
    assert (await api.get(f"{url}/tree", headers=bob.headers)).status_code == 404
    assert (await api.patch(url, json={"title": "x"}, headers=bob.headers)).status_code == 404
    assert (await api.delete(url, headers=bob.headers)).status_code == 404
    assert (await api.get(GOALS, params={"root_id": root["id"]}, headers=bob.headers)).status_code == 404
    await api.delete(url, headers=alice.headers)
    assert (await api.post(f"{url}/restore", headers=bob.headers)).status_code == 404
    # Bob can neither hang a goal under Alice's nor move his under hers.
    r = await api.post(GOALS, json={"title": "x", "parent_id": root["id"]}, headers=bob.headers)
    assert r.status_code == 422
    mine = await make_goal(api, bob)
    r = await api.patch(f"{GOALS}/{mine['id']}", json={"parent_id": root["id"]}, headers=bob.headers)
    assert r.status_code == 422
    assert await collect(api, bob, f"{GOALS}/trash") == []
    assert [g["id"] for g in await collect(api, bob, GOALS)] == [mine["id"]]


async def test_moves_racing_deletes_and_restores_never_fail(
    concurrent_api: httpx.AsyncClient, api: AsyncTestClient, alice: User
) -> None:
    for _ in range(5):
        root = await make_goal(api, alice, "root")
        d = await make_goal(api, alice, "d", parent_id=root["id"])
        p = await make_goal(api, alice, "p", parent_id=d["id"])
        m = await make_goal(api, alice, "m", parent_id=root["id"])
        moved, deleted = await asyncio.gather(
            concurrent_api.patch(f"{GOALS}/{m['id']}", json={"parent_id": p["id"]}, headers=alice.headers),
            concurrent_api.delete(f"{GOALS}/{d['id']}", headers=alice.headers),
        )
        assert deleted.status_code == 204, deleted.text
        assert moved.status_code in (200, 422), moved.text  # 422: p was already in the trash
        restored, moved_again = await asyncio.gather(
            concurrent_api.post(f"{GOALS}/{d['id']}/restore", headers=alice.headers),
            concurrent_api.patch(f"{GOALS}/{root['id']}", json={"title": "renamed"}, headers=alice.headers),
        )
        assert restored.status_code == 200 and moved_again.status_code == 200
        tree = await collect(api, alice, GOALS, root_id=root["id"])
        assert {g["id"] for g in tree} == {root["id"], d["id"], p["id"], m["id"]}
