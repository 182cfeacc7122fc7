"""Templates, sessions, activity instances, metric values and timers over HTTP."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from daybook_journal.testing import (
    ACTIVITIES,
    GOALS,
    SESSIONS,
    TEMPLATES,
    User,
    collect,
    make_activity,
    make_goal,
    make_session,
)


async def tree(api: AsyncTestClient, user: User) -> dict[str, Any]:
    root = await make_goal(api, user, "Climb")
    run = await make_activity(api, user, root["id"], "Run", metrics=[{"name": "km", "unit": "km"}])
    lift = await make_activity(
        api,
        user,
        root["id"],
        "Lift",
        metrics=[{"name": "kg", "unit": "kg"}, {"name": "reps", "unit": "count"}],
        splits=[{"name": "left"}, {"name": "right"}],
    )
    return {"root": root, "run": run, "lift": lift}


async def test_templates(api: AsyncTestClient, alice: User) -> None:
    t = await tree(api, alice)
    other = await make_goal(api, alice)
    foreign = await make_activity(api, alice, other["id"], "Swim")
    base = f"{GOALS}/{t['root']['id']}/templates"
    ids = [t["lift"]["id"], t["run"]["id"], t["lift"]["id"]]
    r = await api.post(base, json={"name": "Monday", "activity_ids": ids}, headers=alice.headers)
    assert r.status_code == 201, r.text
    template = r.json()
    assert template["activity_ids"] == ids and r.headers["location"] == f"{TEMPLATES}/{template['id']}"
    assert (
        await api.post(base, json={"name": "MONDAY", "activity_ids": []}, headers=alice.headers)
    ).status_code == 409
    r = await api.post(base, json={"name": "Tue", "activity_ids": [foreign["id"]]}, headers=alice.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "activity_ids"
    url = f"{TEMPLATES}/{template['id']}"
    r = await api.patch(
        url, json={"activity_ids": [t["run"]["id"]]}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert (
        r.status_code == 200 and r.json()["activity_ids"] == [t["run"]["id"]] and r.headers["etag"] == '"2"'
    )
    assert (
        await api.patch(url, json={"name": "x"}, headers={**alice.headers, "If-Match": '"1"'})
    ).status_code == 412
    assert [x["name"] for x in await collect(api, alice, base)] == ["Monday"]
    assert (await api.delete(url, headers=alice.headers)).status_code == 204
    assert (await api.get(url, headers=alice.headers)).status_code == 404


async def test_session_from_template_and_goal_links(api: AsyncTestClient, alice: User) -> None:
    t = await tree(api, alice)
    sub = await make_goal(api, alice, "5 km", parent_id=t["root"]["id"])
    ids = [t["lift"]["id"], t["run"]["id"]]
    r = await api.post(
        f"{GOALS}/{t['root']['id']}/templates", json={"name": "A", "activity_ids": ids}, headers=alice.headers
    )
    template = r.json()
    session = await make_session(
        api, alice, t["root"]["id"], title="Morning", template_id=template["id"], goal_ids=[sub["id"]]
    )
    assert [i["activity_id"] for i in session["activities"]] == ids
    assert [i["sort_order"] for i in session["activities"]] == [0, 1]
    assert session["goal_ids"] == [sub["id"]] and session["template_id"] == template["id"]
    assert session["root_id"] == t["root"]["id"] and session["ended_at"] is None
    r = await api.get(f"{SESSIONS}/{session['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == session
    other = await make_goal(api, alice)
    for body in (
        {"template_id": template["id"], "goal_ids": [other["id"]]},
        {"started_at": "2026-01-02T10:00:00Z", "ended_at": "2026-01-02T09:00:00Z"},
        {"started_at": "2026-01-02T10:00:00"},
        {"title": "x" * 201},
        {"user_id": str(alice.id)},
    ):
        r = await api.post(f"{GOALS}/{t['root']['id']}/sessions", json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)
    r = await api.post(
        f"{GOALS}/{other['id']}/sessions", json={"template_id": template["id"]}, headers=alice.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "template_id"


async def test_list_newest_first_with_range(api: AsyncTestClient, alice: User) -> None:
    root = await make_goal(api, alice)
    made = [
        await make_session(api, alice, root["id"], started_at=f"2026-03-{day:02d}T08:00:00Z")
        for day in (5, 1, 9, 3)
    ]
    url = f"{GOALS}/{root['id']}/sessions"
    listed = await collect(api, alice, url, limit=3)
    assert [x["started_at"][:10] for x in listed] == ["2026-03-09", "2026-03-05", "2026-03-03", "2026-03-01"]
    ranged = await collect(api, alice, url, **{"from": "2026-03-02T00:00:00Z", "to": "2026-03-06T00:00:00Z"})
    assert [x["started_at"][:10] for x in ranged] == ["2026-03-05", "2026-03-03"]
    first = made[0]["id"]
    assert (await api.delete(f"{SESSIONS}/{first}", headers=alice.headers)).status_code == 204
    assert (await api.get(f"{SESSIONS}/{first}", headers=alice.headers)).status_code == 404
    assert [x["id"] for x in await collect(api, alice, f"{url}/trash")] == [first]
    assert len(await collect(api, alice, url)) == 3
    r = await api.post(f"{SESSIONS}/{first}/restore", headers=alice.headers)
    assert r.status_code == 200 and r.json()["deleted_at"] is None
    assert len(await collect(api, alice, url)) == 4


async def test_instances_and_metric_values(api: AsyncTestClient, alice: User) -> None:
    t = await tree(api, alice)
    session = await make_session(api, alice, t["root"]["id"])
    kg, reps = (m["id"] for m in t["lift"]["metrics"])
    left, right = (sp["id"] for sp in t["lift"]["splits"])
    url = f"{SESSIONS}/{session['id']}/activities"
    r = await api.post(
        url,
        json={
            "activity_id": t["lift"]["id"],
            "time_start": "2026-03-01T08:00:00Z",
            "time_stop": "2026-03-01T08:10:30Z",
            "metrics": [
                {"metric_id": kg, "split_id": left, "value": 20},
                {"metric_id": kg, "split_id": right, "value": 22.5},
                {"metric_id": reps, "value": 10},
            ],
        },
        headers=alice.headers,
    )
    assert r.status_code == 201, r.text
    instance = r.json()
    assert instance["duration_seconds"] == 630 and instance["root_id"] == t["root"]["id"]
    assert sorted(v["value"] for v in instance["metrics"]) == [10, 20, 22.5]
    run_km = t["run"]["metrics"][0]["id"]
    bad_bodies: list[dict[str, Any]] = [
        {
            "activity_id": t["lift"]["id"],
            "time_start": "2026-03-01T08:00:00Z",
            "time_stop": "2026-03-01T07:00:00Z",
        },
        {"activity_id": t["lift"]["id"], "time_stop": "2026-03-01T07:00:00Z"},
        {"activity_id": t["lift"]["id"], "duration_seconds": -1},
        {"activity_id": t["lift"]["id"], "metrics": [{"metric_id": kg, "value": -1}]},
        {"activity_id": t["lift"]["id"], "metrics": [{"metric_id": run_km, "value": 1}]},
        {"activity_id": t["run"]["id"], "metrics": [{"metric_id": run_km, "split_id": left, "value": 1}]},
        {
            "activity_id": t["lift"]["id"],
            "metrics": [{"metric_id": kg, "value": 1}, {"metric_id": kg, "value": 2}],
        },
    ]
    other = await make_goal(api, alice)
    bad_bodies.append({"activity_id": (await make_activity(api, alice, other["id"], "Other"))["id"]})
    for body in bad_bodies:
        r = await api.post(url, json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)
    one = f"{url}/{instance['id']}"
    r = await api.put(f"{one}/metrics", json=[{"metric_id": reps, "value": 12}], headers=alice.headers)
    assert r.status_code == 200 and [(v["metric_id"], v["value"]) for v in r.json()["metrics"]] == [
        (reps, 12)
    ]
    r = await api.put(
        f"{one}/metrics",
        json=[{"metric_id": reps, "value": 1}, {"metric_id": reps, "value": 2}],
        headers=alice.headers,
    )
    assert r.status_code == 422
    r = await api.patch(one, json={"time_stop": "2026-03-01T08:01:00Z"}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["duration_seconds"] == 60
    r = await api.patch(one, json={"time_stop": "2026-03-01T07:00:00Z"}, headers=alice.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "time_stop"
    got = (await api.get(f"{SESSIONS}/{session['id']}", headers=alice.headers)).json()
    assert [i["id"] for i in got["activities"]] == [instance["id"]]
    assert (await api.delete(one, headers=alice.headers)).status_code == 204
    assert (await api.get(f"{SESSIONS}/{session['id']}", headers=alice.headers)).json()["activities"] == []


async def test_timers(api: AsyncTestClient, alice: User) -> None:
    t = await tree(api, alice)
    session = await make_session(api, alice, t["root"]["id"])
    r = await api.post(
        f"{SESSIONS}/{session['id']}/activities", json={"activity_id": t["run"]["id"]}, headers=alice.headers
    )
    one = f"{SESSIONS}/{session['id']}/activities/{r.json()['id']}"
    assert (await api.post(f"{one}/stop", headers=alice.headers)).status_code == 409
    before = datetime.datetime.now(datetime.UTC)
    r = await api.post(f"{one}/start", headers=alice.headers)
    assert r.status_code == 200 and r.json()["time_stop"] is None
    started = datetime.datetime.fromisoformat(r.json()["time_start"])
    assert abs((started - before).total_seconds()) < 60
    assert (await api.post(f"{one}/start", headers=alice.headers)).status_code == 409
    r = await api.post(f"{one}/stop", headers=alice.headers)
    assert r.status_code == 200
    stopped = r.json()
    assert stopped["time_stop"] is not None and stopped["duration_seconds"] >= 0
    assert (await api.post(f"{one}/stop", headers=alice.headers)).status_code == 409
    r = await api.post(f"{one}/start", headers=alice.headers)  # a stopped timer starts over
    assert r.status_code == 200 and r.json()["time_stop"] is None and r.json()["duration_seconds"] is None


async def test_session_patch_and_etag(api: AsyncTestClient, alice: User) -> None:
    t = await tree(api, alice)
    session = await make_session(api, alice, t["root"]["id"], started_at="2026-03-01T08:00:00Z")
    url = f"{SESSIONS}/{session['id']}"
    r = await api.patch(
        url,
        json={"ended_at": "2026-03-01T09:00:00Z", "notes": "good"},
        headers={**alice.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200 and r.json()["notes"] == "good" and r.headers["etag"] == '"2"'
    assert (
        await api.patch(url, json={"notes": "x"}, headers={**alice.headers, "If-Match": '"1"'})
    ).status_code == 412
    r = await api.patch(url, json={"ended_at": "2026-03-01T07:00:00Z"}, headers=alice.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "ended_at"
    await api.post(f"{url}/activities", json={"activity_id": t["run"]["id"]}, headers=alice.headers)
    assert (await api.get(url, headers=alice.headers)).headers["etag"] == '"3"'


async def test_move_carries_sessions_and_refuses_a_split(api: AsyncTestClient, alice: User) -> None:
    t = await tree(api, alice)
    session = await make_session(api, alice, t["root"]["id"])
    r = await api.post(
        f"{SESSIONS}/{session['id']}/activities", json={"activity_id": t["run"]["id"]}, headers=alice.headers
    )
    instance = r.json()
    other = await make_goal(api, alice)
    r = await api.patch(f"{GOALS}/{t['root']['id']}", json={"parent_id": other["id"]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    got = (await api.get(f"{SESSIONS}/{session['id']}", headers=alice.headers)).json()
    assert got["root_id"] == other["id"] and got["activities"][0]["root_id"] == other["id"]
    assert [x["id"] for x in await collect(api, alice, f"{GOALS}/{other['id']}/sessions")] == [session["id"]]
    # A session of the other tree using an activity that would leave with a moved goal: 409.
    s2 = await make_session(api, alice, other["id"])
    r = await api.post(
        f"{SESSIONS}/{s2['id']}/activities", json={"activity_id": t["run"]["id"]}, headers=alice.headers
    )
    assert r.status_code == 201
    own = await make_activity(api, alice, other["id"], "Own")
    r = await api.post(
        f"{SESSIONS}/{session['id']}/activities", json={"activity_id": own["id"]}, headers=alice.headers
    )
    assert r.status_code == 201
    r = await api.patch(f"{GOALS}/{t['root']['id']}", json={"parent_id": None}, headers=alice.headers)
    assert r.status_code == 409, r.text
    assert instance["id"] in {i["id"] for i in got["activities"]}


async def test_other_users_ids_are_404(api: AsyncTestClient, alice: User, bob: User) -> None:
    t = await tree(api, alice)
    r = await api.post(
        f"{GOALS}/{t['root']['id']}/templates", json={"name": "T", "activity_ids": []}, headers=alice.headers
    )
    template = r.json()
    session = await make_session(api, alice, t["root"]["id"])
    r = await api.post(
        f"{SESSIONS}/{session['id']}/activities", json={"activity_id": t["run"]["id"]}, headers=alice.headers
    )
    one = f"{SESSIONS}/{session['id']}/activities/{r.json()['id']}"
    root = f"{GOALS}/{t['root']['id']}"
    calls: list[tuple[str, str, Any]] = [
        ("POST", f"{root}/templates", {"name": "x", "activity_ids": []}),
        ("GET", f"{root}/templates", None),
        ("GET", f"{TEMPLATES}/{template['id']}", None),
        ("PATCH", f"{TEMPLATES}/{template['id']}", {"name": "y"}),
        ("POST", f"{root}/sessions", {}),
        ("GET", f"{root}/sessions", None),
        ("GET", f"{root}/sessions/trash", None),
        ("GET", f"{root}/stats", {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"}),
        ("GET", f"{SESSIONS}/{session['id']}", None),
        ("PATCH", f"{SESSIONS}/{session['id']}", {"notes": "x"}),
        ("POST", f"{SESSIONS}/{session['id']}/activities", {"activity_id": t["run"]["id"]}),
        ("PATCH", one, {"sort_order": 1}),
        ("POST", f"{one}/start", None),
        ("POST", f"{one}/stop", None),
        ("PUT", f"{one}/metrics", []),
        ("DELETE", one, None),
        ("DELETE", f"{TEMPLATES}/{template['id']}", None),
        ("DELETE", f"{SESSIONS}/{session['id']}", None),
        ("POST", f"{ACTIVITIES}/{t['run']['id']}/restore", None),
    ]
    for method, path, body in calls:
        if path.endswith("/stats"):
            r = await api.get(path, params=body, headers=bob.headers)
        else:
            r = await api.request(method, path, json=body, headers=bob.headers)
        assert r.status_code == 404, (method, path, r.text)
    await api.delete(f"{SESSIONS}/{session['id']}", headers=alice.headers)
    assert (await api.post(f"{SESSIONS}/{session['id']}/restore", headers=bob.headers)).status_code == 404


async def test_concurrent_starts_one_wins(
    concurrent_api: httpx.AsyncClient, api: AsyncTestClient, alice: User
) -> None:
    t = await tree(api, alice)
    session = await make_session(api, alice, t["root"]["id"])
    r = await api.post(
        f"{SESSIONS}/{session['id']}/activities", json={"activity_id": t["run"]["id"]}, headers=alice.headers
    )
    one = f"{SESSIONS}/{session['id']}/activities/{r.json()['id']}"
    starts = await asyncio.gather(
        *(concurrent_api.post(f"{one}/start", headers=alice.headers) for _ in range(4))
    )
    assert sorted(r.status_code for r in starts) == [200, 409, 409, 409]
    stops = await asyncio.gather(
        *(concurrent_api.post(f"{one}/stop", headers=alice.headers) for _ in range(4))
    )
    assert sorted(r.status_code for r in stops) == [200, 409, 409, 409]
