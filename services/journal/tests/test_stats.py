"""GET /goals/{root}/stats: sums per activity and bucket, computed by journal.goal_stats."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from daybook_journal.testing import GOALS, SESSIONS, User, make_activity, make_goal, make_session


async def practice(
    api: AsyncTestClient,
    user: User,
    root: str,
    session: str,
    activity: str,
    seconds: int,
    values: list[dict[str, Any]],
) -> None:
    body = {"activity_id": activity, "duration_seconds": seconds, "metrics": values}
    r = await api.post(f"{SESSIONS}/{session}/activities", json=body, headers=user.headers)
    assert r.status_code == 201, r.text


async def test_sums_per_activity_and_bucket(api: AsyncTestClient, alice: User, bob: User) -> None:
    root = await make_goal(api, alice, "Strength")
    lift = await make_activity(
        api,
        alice,
        root["id"],
        "Lift",
        metrics=[{"name": "kg", "unit": "kg"}],
        splits=[{"name": "L"}, {"name": "R"}],
    )
    run = await make_activity(api, alice, root["id"], "Run", metrics=[{"name": "km", "unit": "km"}])
    kg, km = lift["metrics"][0]["id"], run["metrics"][0]["id"]
    left, right = (sp["id"] for sp in lift["splits"])
    # Monday 2 March and Tuesday 3 March 2026 (same ISO week), Monday 9 March (next week).
    s1 = await make_session(api, alice, root["id"], started_at="2026-03-02T07:00:00Z")
    s2 = await make_session(api, alice, root["id"], started_at="2026-03-02T19:00:00+02:00")  # 17:00 UTC
    s3 = await make_session(
        api, alice, root["id"], started_at="2026-03-03T23:30:00-02:00"
    )  # 4 March 01:30 UTC
    s4 = await make_session(api, alice, root["id"], started_at="2026-03-09T08:00:00Z")
    gone = await make_session(api, alice, root["id"], started_at="2026-03-02T09:00:00Z")
    await practice(
        api,
        alice,
        root["id"],
        s1["id"],
        lift["id"],
        60,
        [{"metric_id": kg, "split_id": left, "value": 10}, {"metric_id": kg, "split_id": right, "value": 20}],
    )
    await practice(
        api, alice, root["id"], s1["id"], lift["id"], 30, [{"metric_id": kg, "split_id": left, "value": 30}]
    )
    await practice(
        api, alice, root["id"], s2["id"], lift["id"], 90, [{"metric_id": kg, "split_id": left, "value": 5}]
    )
    await practice(api, alice, root["id"], s2["id"], run["id"], 1800, [{"metric_id": km, "value": 5.5}])
    await practice(api, alice, root["id"], s3["id"], run["id"], 600, [{"metric_id": km, "value": 2}])
    await practice(api, alice, root["id"], s4["id"], run["id"], 1200, [{"metric_id": km, "value": 4}])
    await practice(api, alice, root["id"], gone["id"], run["id"], 999, [{"metric_id": km, "value": 99}])
    assert (await api.delete(f"{SESSIONS}/{gone['id']}", headers=alice.headers)).status_code == 204
    url = f"{GOALS}/{root['id']}/stats"
    params = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}

    r = await api.get(url, params={**params, "bucket": "day"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    items = {(i["activity_id"], i["bucket_start"][:10]): i for i in r.json()["items"]}
    assert set(items) == {
        (lift["id"], "2026-03-02"),
        (run["id"], "2026-03-02"),
        (run["id"], "2026-03-04"),
        (run["id"], "2026-03-09"),
    }
    lift_day = items[(lift["id"], "2026-03-02")]
    assert (lift_day["sessions"], lift_day["instances"], lift_day["total_seconds"]) == (2, 3, 180)
    by_split = {m["split_id"]: m for m in lift_day["metrics"]}
    assert by_split[left] == {"metric_id": kg, "split_id": left, "sum": 45, "avg": 15, "max": 30}
    assert by_split[right] == {"metric_id": kg, "split_id": right, "sum": 20, "avg": 20, "max": 20}
    assert items[(run["id"], "2026-03-02")]["metrics"] == [
        {"metric_id": km, "split_id": None, "sum": 5.5, "avg": 5.5, "max": 5.5}
    ]
    assert items[(run["id"], "2026-03-02")]["total_seconds"] == 1800  # the deleted session is not counted

    r = await api.get(url, params={**params, "bucket": "week"}, headers=alice.headers)
    weeks = {(i["activity_id"], i["bucket_start"][:10]): i for i in r.json()["items"]}
    assert set(weeks) == {(lift["id"], "2026-03-02"), (run["id"], "2026-03-02"), (run["id"], "2026-03-09")}
    run_week = weeks[(run["id"], "2026-03-02")]
    assert (run_week["sessions"], run_week["instances"], run_week["total_seconds"]) == (2, 2, 2400)
    assert run_week["metrics"][0]["sum"] == 7.5 and run_week["metrics"][0]["max"] == 5.5

    r = await api.get(url, params={**params, "bucket": "month"}, headers=alice.headers)
    months = {i["activity_id"]: i for i in r.json()["items"]}
    assert months[run["id"]]["bucket_start"].startswith("2026-03-01T00:00:00")
    assert (months[run["id"]]["sessions"], months[run["id"]]["total_seconds"]) == (3, 3600)
    assert isinstance(months[run["id"]]["metrics"][0]["avg"], float | int)

    # The range is from <= started_at < to.
    r = await api.get(
        url, params={"from": "2026-03-09T08:00:00Z", "to": "2026-03-09T08:00:01Z"}, headers=alice.headers
    )
    assert [i["activity_id"] for i in r.json()["items"]] == [run["id"]]
    r = await api.get(
        url, params={"from": "2026-03-09T08:00:01Z", "to": "2026-03-10T00:00:00Z"}, headers=alice.headers
    )
    assert r.json()["items"] == []

    for bad in (
        {**params, "bucket": "year"},
        {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        {"from": "2026-03-01T00:00:00", "to": "2026-04-01T00:00:00Z"},
        {"to": "2026-04-01T00:00:00Z"},
    ):
        assert (await api.get(url, params=bad, headers=alice.headers)).status_code == 422, bad
    assert (await api.get(url, params=params, headers=bob.headers)).status_code == 404
