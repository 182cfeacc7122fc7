"""Activities, groups, metric and split definitions over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from daybook_journal.testing import ACTIVITIES, GOALS, User, collect, make_activity, make_goal


async def test_create_with_metrics_and_splits(api: AsyncTestClient, alice: User) -> None:
    root = await make_goal(api, alice)
    r = await api.post(
        f"{GOALS}/{root['id']}/activity-groups", json={"name": "Cardio"}, headers=alice.headers
    )
    assert r.status_code == 201, r.text
    group = r.json()
    assert group["root_id"] == root["id"] and group["sort_order"] == 0
    activity = await make_activity(
        api,
        alice,
        root["id"],
        "Rowing",
        group_id=group["id"],
        metrics=[
            {"name": "distance", "unit": "m", "sort_order": 2},
            {"name": "strokes", "unit": "count", "sort_order": 1},
        ],
        splits=[{"name": "left"}, {"name": "right"}],
    )
    assert activity["root_id"] == root["id"] and activity["group_id"] == group["id"]
    assert [m["name"] for m in activity["metrics"]] == ["strokes", "distance"]
    assert [sp["name"] for sp in activity["splits"]] == ["left", "right"]
    assert all("id" in m for m in activity["metrics"] + activity["splits"])
    r = await api.get(f"{ACTIVITIES}/{activity['id']}", headers=alice.headers)
    assert r.status_code == 200 and r.json() == activity and r.headers["etag"] == '"1"'


async def test_non_ascii_names_are_unique_case_and_normalization_insensitively(
    api: AsyncTestClient, alice: User
) -> None:
    root = await make_goal(api, alice)
    base = f"{GOALS}/{root['id']}"
    nfc, nfd = "\u00c9tirements", "E\u0301tirements"
    r = await api.post(f"{base}/activity-groups", json={"name": nfc}, headers=alice.headers)
    assert r.status_code == 201 and r.json()["name"] == nfc
    for name in ("\u00e9tirements", nfd):
        r = await api.post(f"{base}/activity-groups", json={"name": name}, headers=alice.headers)
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    activity = await make_activity(api, alice, root["id"], "\u00c9cart")
    for name in ("\u00e9cart", "E\u0301CART"):
        r = await api.post(f"{base}/activities", json={"name": name}, headers=alice.headers)
        assert r.status_code == 409, r.text
    r = await api.post(f"{base}/templates", json={"name": nfd, "activity_ids": []}, headers=alice.headers)
    assert r.status_code == 201, r.text
    r = await api.post(
        f"{base}/templates", json={"name": "\u00e9tirements", "activity_ids": []}, headers=alice.headers
    )
    assert r.status_code == 409
    url = f"{ACTIVITIES}/{activity['id']}"
    assert (
        await api.post(f"{url}/splits", json={"name": "\u00c9paule"}, headers=alice.headers)
    ).status_code == 201
    assert (
        await api.post(f"{url}/splits", json={"name": "\u00e9paule"}, headers=alice.headers)
    ).status_code == 409
    r = await api.post(f"{url}/metrics", json={"name": "\u0394t", "unit": "s"}, headers=alice.headers)
    assert r.status_code == 201
    r = await api.post(f"{url}/metrics", json={"name": "\u03b4T", "unit": "s"}, headers=alice.headers)
    assert r.status_code == 409


async def test_names_are_unique_case_insensitively(api: AsyncTestClient, alice: User) -> None:
    root = await make_goal(api, alice)
    other = await make_goal(api, alice)
    base = f"{GOALS}/{root['id']}"
    assert (
        await api.post(f"{base}/activity-groups", json={"name": "Strength"}, headers=alice.headers)
    ).status_code == 201
    r = await api.post(f"{base}/activity-groups", json={"name": "STRENGTH"}, headers=alice.headers)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
    activity = await make_activity(api, alice, root["id"], "Squat")
    r = await api.post(f"{base}/activities", json={"name": "squat"}, headers=alice.headers)
    assert r.status_code == 409
    await make_activity(api, alice, other["id"], "Squat")  # another tree: fine
    r = await api.post(
        f"{base}/activities",
        json={"name": "Bench", "metrics": [{"name": "kg", "unit": "kg"}, {"name": "KG", "unit": "kg"}]},
        headers=alice.headers,
    )
    assert r.status_code == 409
    r = await api.post(
        f"{base}/activities",
        json={"name": "Bench", "splits": [{"name": "L"}, {"name": "l"}]},
        headers=alice.headers,
    )
    assert r.status_code == 409
    url = f"{ACTIVITIES}/{activity['id']}"
    assert (
        await api.post(f"{url}/metrics", json={"name": "Weight", "unit": "kg"}, headers=alice.headers)
    ).status_code == 201
    assert (
        await api.post(f"{url}/metrics", json={"name": "weight", "unit": "lb"}, headers=alice.headers)
    ).status_code == 409
    assert (await api.post(f"{url}/splits", json={"name": "Left"}, headers=alice.headers)).status_code == 201
    assert (await api.post(f"{url}/splits", json={"name": "LEFT"}, headers=alice.headers)).status_code == 409
    # A deleted activity's name is free again; restoring it then clashes.
    assert (await api.delete(url, headers=alice.headers)).status_code == 204
    again = await make_activity(api, alice, root["id"], "SQUAT")
    assert (await api.post(f"{url}/restore", headers=alice.headers)).status_code == 409
    assert (await api.delete(f"{ACTIVITIES}/{again['id']}", headers=alice.headers)).status_code == 204
    r = await api.post(f"{url}/restore", headers=alice.headers)
    assert r.status_code == 200 and r.json()["deleted_at"] is None


async def test_validation_and_cross_tree_group(api: AsyncTestClient, alice: User) -> None:
    root = await make_goal(api, alice)
    other = await make_goal(api, alice)
    r = await api.post(f"{GOALS}/{other['id']}/activity-groups", json={"name": "G"}, headers=alice.headers)
    foreign_group = r.json()["id"]
    base = f"{GOALS}/{root['id']}/activities"
    for body in (
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "a", "metrics": [{"name": "m"}]},
        {"name": "a", "metrics": [{"name": "m", "unit": ""}]},
        {"name": "a", "root_id": root["id"]},
        {"name": "a", "group_id": foreign_group},
        {"name": "a", "group_id": str(uuid.uuid4())},
    ):
        r = await api.post(base, json=body, headers=alice.headers)
        assert r.status_code == 422, (body, r.text)
    activity = await make_activity(api, alice, root["id"])
    r = await api.patch(
        f"{ACTIVITIES}/{activity['id']}", json={"group_id": foreign_group}, headers=alice.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "group_id"
    # Only a root goal owns activities.
    child = await make_goal(api, alice, parent_id=root["id"])
    assert (
        await api.post(f"{GOALS}/{child['id']}/activities", json={"name": "a"}, headers=alice.headers)
    ).status_code == 404


async def test_list_update_delete_and_parts(api: AsyncTestClient, alice: User) -> None:
    root = await make_goal(api, alice)
    names = ["banana", "Apple", "cherry"]
    made = {n: await make_activity(api, alice, root["id"], n) for n in names}
    listed = await collect(api, alice, f"{GOALS}/{root['id']}/activities", limit=2)
    assert [x["name"] for x in listed] == ["Apple", "banana", "cherry"]
    url = f"{ACTIVITIES}/{made['Apple']['id']}"
    r = await api.patch(
        url, json={"name": "Apricot", "description": "orange"}, headers={**alice.headers, "If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.json()["name"] == "Apricot" and r.headers["etag"] == '"2"'
    assert (
        await api.patch(url, json={"name": "x"}, headers={**alice.headers, "If-Match": '"1"'})
    ).status_code == 412
    r = await api.post(f"{url}/metrics", json={"name": "reps", "unit": "count"}, headers=alice.headers)
    assert r.status_code == 201
    metric = r.json()
    r = await api.patch(
        f"{url}/metrics/{metric['id']}", json={"unit": "times", "sort_order": 3}, headers=alice.headers
    )
    assert r.status_code == 200 and r.json()["unit"] == "times"
    r = await api.post(f"{url}/splits", json={"name": "left"}, headers=alice.headers)
    split = r.json()
    assert (await api.patch(f"{url}/splits/{split['id']}", json={"name": "L"}, headers=alice.headers)).json()[
        "name"
    ] == "L"
    got = (await api.get(url, headers=alice.headers)).json()
    assert [m["unit"] for m in got["metrics"]] == ["times"] and [sp["name"] for sp in got["splits"]] == ["L"]
    assert (await api.delete(f"{url}/metrics/{metric['id']}", headers=alice.headers)).status_code == 204
    assert (await api.delete(f"{url}/splits/{split['id']}", headers=alice.headers)).status_code == 204
    got = (await api.get(url, headers=alice.headers)).json()
    assert got["metrics"] == [] and got["splits"] == []
    assert (
        await api.patch(f"{url}/metrics/{metric['id']}", json={"unit": "x"}, headers=alice.headers)
    ).status_code == 404
    assert (await api.delete(url, headers=alice.headers)).status_code == 204
    assert (await api.get(url, headers=alice.headers)).status_code == 404
    trash = await collect(api, alice, f"{GOALS}/{root['id']}/activities/trash")
    assert [x["id"] for x in trash] == [made["Apple"]["id"]]
    assert len(await collect(api, alice, f"{GOALS}/{root['id']}/activities")) == 2


async def test_other_users_ids_are_404(api: AsyncTestClient, alice: User, bob: User) -> None:
    root = await make_goal(api, alice)
    activity = await make_activity(
        api, alice, root["id"], metrics=[{"name": "m", "unit": "u"}], splits=[{"name": "s"}]
    )
    metric, split = activity["metrics"][0]["id"], activity["splits"][0]["id"]
    url = f"{ACTIVITIES}/{activity['id']}"
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"{GOALS}/{root['id']}/activity-groups", {"name": "g"}),
        ("GET", f"{GOALS}/{root['id']}/activity-groups", None),
        ("POST", f"{GOALS}/{root['id']}/activities", {"name": "a"}),
        ("GET", f"{GOALS}/{root['id']}/activities", None),
        ("GET", f"{GOALS}/{root['id']}/activities/trash", None),
        ("GET", url, None),
        ("PATCH", url, {"name": "b"}),
        ("POST", f"{url}/metrics", {"name": "x", "unit": "y"}),
        ("PATCH", f"{url}/metrics/{metric}", {"name": "x"}),
        ("DELETE", f"{url}/metrics/{metric}", None),
        ("POST", f"{url}/splits", {"name": "x"}),
        ("PATCH", f"{url}/splits/{split}", {"name": "x"}),
        ("DELETE", f"{url}/splits/{split}", None),
        ("DELETE", url, None),
    ]
    for method, path, body in calls:
        r = await api.request(method, path, json=body, headers=bob.headers)
        assert r.status_code == 404, (method, path, r.text)
    await api.delete(url, headers=alice.headers)
    assert (await api.post(f"{url}/restore", headers=bob.headers)).status_code == 404


async def test_practice_data_follows_a_move_and_name_clashes_are_409(
    api: AsyncTestClient, alice: User
) -> None:
    x = await make_goal(api, alice, "X")
    r2 = await make_goal(api, alice, "R2")
    moved = await make_activity(api, alice, x["id"], "Run", metrics=[{"name": "km", "unit": "km"}])
    await make_activity(api, alice, r2["id"], "run")
    r = await api.patch(f"{GOALS}/{x['id']}", json={"parent_id": r2["id"]}, headers=alice.headers)
    assert r.status_code == 409, r.text
    assert (await api.get(f"{ACTIVITIES}/{moved['id']}", headers=alice.headers)).json()["root_id"] == x["id"]
    await api.patch(f"{ACTIVITIES}/{moved['id']}", json={"name": "Jog"}, headers=alice.headers)
    r = await api.patch(f"{GOALS}/{x['id']}", json={"parent_id": r2["id"]}, headers=alice.headers)
    assert r.status_code == 200, r.text
    got = (await api.get(f"{ACTIVITIES}/{moved['id']}", headers=alice.headers)).json()
    assert got["root_id"] == r2["id"] and got["metrics"][0]["name"] == "km"
    names = [a["name"] for a in await collect(api, alice, f"{GOALS}/{r2['id']}/activities")]
    assert names == ["Jog", "run"]
    # Back to the top: the activity returns with its goal.
    await api.patch(f"{GOALS}/{x['id']}", json={"parent_id": None}, headers=alice.headers)
    assert (await api.get(f"{ACTIVITIES}/{moved['id']}", headers=alice.headers)).json()["root_id"] == x["id"]
