"""Tasks' goal_id: a live goal of the caller, ?goal_id= filter, kept when the goal is deleted."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from daybook_journal.testing import GOALS, TASKS, User, collect, make_goal, make_task


async def test_task_goal_and_filter(api: AsyncTestClient, alice: User, bob: User) -> None:
    goal = await make_goal(api, alice, "Garden")
    other = await make_goal(api, alice, "House")
    a = await make_task(api, alice, title="Dig", goal_id=goal["id"])
    b = await make_task(api, alice, title="Paint", goal_id=other["id"])
    c = await make_task(api, alice, title="Nothing")
    assert a["goal_id"] == goal["id"] and c["goal_id"] is None
    for sort in ("-created_at", "due_at", "priority"):
        ids = [t["id"] for t in await collect(api, alice, TASKS, goal_id=goal["id"], sort=sort)]
        assert ids == [a["id"]], sort
    r = await api.patch(f"{TASKS}/{c['id']}", json={"goal_id": goal["id"]}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["goal_id"] == goal["id"]
    assert {t["id"] for t in await collect(api, alice, TASKS, goal_id=goal["id"])} == {a["id"], c["id"]}
    r = await api.patch(f"{TASKS}/{b['id']}", json={"goal_id": None}, headers=alice.headers)
    assert r.json()["goal_id"] is None
    # Someone else's goal, an unknown one, or a goal in the trash: 422.
    bobs = await make_goal(api, bob)
    for goal_id in (bobs["id"], str(uuid.uuid4())):
        r = await api.post(TASKS, json={"title": "x", "goal_id": goal_id}, headers=alice.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "goal_id"
    assert (await api.delete(f"{GOALS}/{goal['id']}", headers=alice.headers)).status_code == 204
    assert (
        await api.post(TASKS, json={"title": "x", "goal_id": goal["id"]}, headers=alice.headers)
    ).status_code == 422
    # Deleting a goal leaves its tasks, goal_id as is.
    r = await api.get(f"{TASKS}/{a['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json()["goal_id"] == goal["id"]
    assert await collect(api, bob, TASKS, goal_id=goal["id"]) == []
