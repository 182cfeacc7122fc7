"""Every create's ``Location`` answers ``GET`` with what the create returned; activity groups'
item operations (get, rename/re-sort, delete leaving their activities ungrouped)."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from daybook_journal.testing import ACTIVITIES, GOALS, SESSIONS, User, make_activity, make_goal, make_session

GROUPS = "/api/v1/activity-groups"


async def created(api: AsyncTestClient, user: User, path: str, body: Any) -> tuple[str, dict[str, Any]]:
    r = await api.post(path, json=body, headers=user.headers)
    assert r.status_code == 201, r.text
    return r.headers["location"], r.json()


async def test_every_practice_location_resolves_to_the_created_item(
    api: AsyncTestClient, alice: User
) -> None:
    root = await make_goal(api, alice)
    tree = f"{GOALS}/{root['id']}"
    group_at, group = await created(api, alice, f"{tree}/activity-groups", {"name": "Legs"})
    assert group_at == f"{GROUPS}/{group['id']}"
    activity_at, activity = await created(api, alice, f"{tree}/activities", {"name": "Squat"})
    metric_at, metric = await created(api, alice, f"{activity_at}/metrics", {"name": "kg", "unit": "kg"})
    split_at, split = await created(api, alice, f"{activity_at}/splits", {"name": "left"})
    assert metric_at == f"{ACTIVITIES}/{activity['id']}/metrics/{metric['id']}"
    assert split_at == f"{ACTIVITIES}/{activity['id']}/splits/{split['id']}"
    session = await make_session(api, alice, root["id"])
    instance_at, instance = await created(
        api,
        alice,
        f"{SESSIONS}/{session['id']}/activities",
        {
            "activity_id": activity["id"],
            "metrics": [{"metric_id": metric["id"], "split_id": split["id"], "value": 60}],
        },
    )
    assert instance_at == f"{SESSIONS}/{session['id']}/activities/{instance['id']}"
    for location, body, version in (
        (group_at, group, '"1"'),
        (activity_at, None, '"3"'),  # its metric and split were added since
        (metric_at, metric, '"1"'),
        (split_at, split, '"1"'),
        (instance_at, instance, '"1"'),
    ):
        r = await api.get(location, headers=alice.headers)
        assert r.status_code == 200, (location, r.text)
        assert body is None or r.json() == body, location
        assert r.headers["etag"] == version, location
        r = await api.get(location, headers={**alice.headers, "If-None-Match": version})
        assert r.status_code == 304 and r.headers["etag"] == version, location


async def test_part_and_instance_reads_follow_changes_and_their_parent(
    api: AsyncTestClient, alice: User, bob: User
) -> None:
    root = await make_goal(api, alice)
    activity = await make_activity(
        api, alice, root["id"], "Row", metrics=[{"name": "m", "unit": "m"}], splits=[{"name": "s"}]
    )
    url = f"{ACTIVITIES}/{activity['id']}"
    metric_url = f"{url}/metrics/{activity['metrics'][0]['id']}"
    split_url = f"{url}/splits/{activity['splits'][0]['id']}"
    session = await make_session(api, alice, root["id"])
    _, instance = await created(
        api, alice, f"{SESSIONS}/{session['id']}/activities", {"activity_id": activity["id"]}
    )
    instance_url = f"{SESSIONS}/{session['id']}/activities/{instance['id']}"
    for parent, child in ((f"{SESSIONS}/{session['id']}", instance_url), (url, metric_url), (url, split_url)):
        before = (await api.get(parent, headers=alice.headers)).headers["etag"]
        assert (await api.get(child, headers=alice.headers)).status_code == 200
        assert (await api.get(parent, headers=alice.headers)).headers["etag"] == before, (
            child
        )  # reads write nothing

    r = await api.patch(metric_url, json={"unit": "km"}, headers=alice.headers)
    assert r.status_code == 200
    r = await api.get(metric_url, headers=alice.headers)
    assert r.json()["unit"] == "km" and r.headers["etag"] == '"2"'
    assert (await api.patch(instance_url, json={"sort_order": 4}, headers=alice.headers)).status_code == 200
    r = await api.get(instance_url, headers={**alice.headers, "If-None-Match": '"1"'})
    assert r.status_code == 200 and r.json()["sort_order"] == 4 and r.headers["etag"] == '"2"'

    for path in (metric_url, split_url, instance_url):  # another user's: not found
        assert (await api.get(path, headers=bob.headers)).status_code == 404, path
    other = await make_activity(api, alice, root["id"], "Other")  # another activity's part
    r = await api.get(
        f"{ACTIVITIES}/{other['id']}/metrics/{activity['metrics'][0]['id']}", headers=alice.headers
    )
    assert r.status_code == 404

    assert (await api.delete(split_url, headers=alice.headers)).status_code == 204
    assert (await api.get(split_url, headers=alice.headers)).status_code == 404  # a deleted definition
    assert (await api.delete(url, headers=alice.headers)).status_code == 204
    assert (await api.get(metric_url, headers=alice.headers)).status_code == 404  # its activity trashed
    assert (await api.post(f"{url}/restore", headers=alice.headers)).status_code == 200
    assert (await api.get(metric_url, headers=alice.headers)).status_code == 200

    assert (await api.delete(f"{SESSIONS}/{session['id']}", headers=alice.headers)).status_code == 204
    r = await api.get(instance_url, headers=alice.headers)  # its session trashed
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert (await api.post(f"{SESSIONS}/{session['id']}/restore", headers=alice.headers)).status_code == 200
    assert (await api.get(instance_url, headers=alice.headers)).status_code == 200
    assert (await api.delete(instance_url, headers=alice.headers)).status_code == 204
    assert (await api.get(instance_url, headers=alice.headers)).status_code == 404


async def test_group_get_rename_resort_and_conditions(api: AsyncTestClient, alice: User, bob: User) -> None:
    root = await make_goal(api, alice)
    tree = f"{GOALS}/{root['id']}"
    at, group = await created(api, alice, f"{tree}/activity-groups", {"name": "Legs"})
    await created(api, alice, f"{tree}/activity-groups", {"name": "Arms", "sort_order": 1})
    r = await api.patch(at, json={"name": "arms"}, headers=alice.headers)  # case-insensitively taken
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    r = await api.patch(
        at, json={"name": "Legs day", "sort_order": 5}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["name"] == "Legs day" and changed["sort_order"] == 5 and r.headers["etag"] == '"2"'
    assert changed["updated_at"] > group["updated_at"] and changed["created_at"] == group["created_at"]
    assert (await api.get(at, headers=alice.headers)).json() == changed
    r = await api.patch(at, json={"name": "x"}, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 412
    listed = (await api.get(f"{tree}/activity-groups", headers=alice.headers)).json()["items"]
    assert [g["name"] for g in listed] == ["Arms", "Legs day"]  # re-sorted
    assert (await api.patch(at, json={"user_id": bob.id.hex}, headers=alice.headers)).status_code == 422
    assert (await api.patch(at, json={"name": " "}, headers=alice.headers)).status_code == 422
    for method, body in (("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)):
        r = await api.request(method, at, json=body, headers=bob.headers)
        assert r.status_code == 404, (method, r.text)
    assert (await api.delete(at, headers={**alice.headers, "If-Match": '"1"'})).status_code == 412
    assert (await api.get(at, headers=alice.headers)).status_code == 200


async def test_deleting_a_group_keeps_its_activities_ungrouped(api: AsyncTestClient, alice: User) -> None:
    root = await make_goal(api, alice)
    tree = f"{GOALS}/{root['id']}"
    at, group = await created(api, alice, f"{tree}/activity-groups", {"name": "Strength"})
    _, kept = await created(api, alice, f"{tree}/activity-groups", {"name": "Cardio"})
    squat = await make_activity(api, alice, root["id"], "Squat", group_id=group["id"])
    lunge = await make_activity(api, alice, root["id"], "Lunge", group_id=group["id"])
    run = await make_activity(api, alice, root["id"], "Run", group_id=kept["id"])
    assert (await api.delete(f"{ACTIVITIES}/{lunge['id']}", headers=alice.headers)).status_code == 204
    r = await api.delete(at, headers={**alice.headers, "If-Match": '"1"'})
    assert r.status_code == 204, r.text
    assert (await api.get(at, headers=alice.headers)).status_code == 404
    assert (await api.delete(at, headers=alice.headers)).status_code == 404
    r = await api.get(f"{ACTIVITIES}/{squat['id']}", headers=alice.headers)
    assert r.json()["group_id"] is None and r.headers["etag"] == '"2"'  # a new version: it changed
    r = await api.post(f"{ACTIVITIES}/{lunge['id']}/restore", headers=alice.headers)  # trashed ones too
    assert r.status_code == 200 and r.json()["group_id"] is None
    r = await api.get(f"{ACTIVITIES}/{run['id']}", headers=alice.headers)
    assert r.json()["group_id"] == kept["id"] and r.headers["etag"] == '"1"'  # another group's: untouched
    listed = (await api.get(f"{tree}/activity-groups", headers=alice.headers)).json()["items"]
    assert [g["id"] for g in listed] == [kept["id"]]
    r = await api.post(
        f"{tree}/activities", json={"name": "Deadlift", "group_id": group["id"]}, headers=alice.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "group_id"


async def test_the_document_has_the_item_operations_and_their_statuses(api: AsyncTestClient) -> None:
    paths = (await api.get("/schema/openapi.json")).json()["paths"]
    expected = {
        (f"{ACTIVITIES}/{{activity_id}}/metrics/{{metric_id}}", "get"): ("GetMetric", "200 304 401 404 422"),
        (f"{ACTIVITIES}/{{activity_id}}/splits/{{split_id}}", "get"): ("GetSplit", "200 304 401 404 422"),
        (f"{SESSIONS}/{{session_id}}/activities/{{instance_id}}", "get"): (
            "GetActivityInstance",
            "200 304 401 404 422",
        ),
        (f"{GROUPS}/{{group_id}}", "get"): ("GetActivityGroup", "200 304 401 404 422"),
        (f"{GROUPS}/{{group_id}}", "patch"): ("UpdateActivityGroup", "200 400 401 404 409 412 415 422"),
        (f"{GROUPS}/{{group_id}}", "delete"): ("DeleteActivityGroup", "204 401 404 412 422"),
    }
    for (path, method), (operation_id, statuses) in expected.items():
        operation = paths[path][method]
        assert operation["operationId"] == operation_id
        assert set(statuses.split()) <= set(operation["responses"]), (
            operation_id,
            sorted(operation["responses"]),
        )
