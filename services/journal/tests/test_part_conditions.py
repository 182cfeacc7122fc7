"""Metric and split definitions and activity instances follow the item convention: an ETag on
create, GET, PATCH (and the timer and values answers of an instance), ``If-Match`` on PATCH,
DELETE and the instance's timer and values -> 412 when stale, each item's ETag its own version
(not its activity's or session's)."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from daybook_journal.testing import ACTIVITIES, GOALS, SESSIONS, User, make_goal, make_session


async def _items(api: AsyncTestClient, user: User) -> dict[str, Any]:
    """An activity with a metric and a split, a session with an instance of it: their URLs,
    the create answers' ETags and bodies."""
    root = await make_goal(api, user)
    r = await api.post(f"{GOALS}/{root['id']}/activities", json={"name": "Squat"}, headers=user.headers)
    activity_url = r.headers["location"]
    made: dict[str, Any] = {"activity": activity_url}
    for noun, body in (("metric", {"name": "kg", "unit": "kg"}), ("split", {"name": "left"})):
        r = await api.post(f"{activity_url}/{noun}s", json=body, headers=user.headers)
        assert r.status_code == 201, r.text
        made[noun] = (r.headers["location"], r.headers["etag"], r.json())
    session = await make_session(api, user, root["id"])
    made["session"] = f"{SESSIONS}/{session['id']}"
    activity_id = activity_url.rsplit("/", 1)[1]
    r = await api.post(
        f"{made['session']}/activities", json={"activity_id": activity_id}, headers=user.headers
    )
    assert r.status_code == 201, r.text
    made["instance"] = (r.headers["location"], r.headers["etag"], r.json())
    return made


PATCHES = {"metric": {"name": "lb"}, "split": {"name": "right"}, "instance": {"sort_order": 3}}


async def test_creates_patches_and_gets_carry_the_items_own_etag(api: AsyncTestClient, alice: User) -> None:
    made = await _items(api, alice)
    parents = {"metric": made["activity"], "split": made["activity"], "instance": made["session"]}
    for noun, change in PATCHES.items():
        url, created_tag, body = made[noun]
        assert created_tag == '"1"', noun
        r = await api.get(url, headers=alice.headers)
        assert (r.headers["etag"], r.json()) == (created_tag, body), noun
        r = await api.patch(url, json=change, headers=alice.headers)
        assert r.status_code == 200 and r.headers["etag"] == '"2"', (noun, r.text)
        read = await api.get(url, headers=alice.headers)
        assert (read.headers["etag"], read.json()) == ('"2"', r.json()), noun
        # The parent's version moved too (its representation holds the item), to another number.
        parent_tag = (await api.get(parents[noun], headers=alice.headers)).headers["etag"]
        assert parent_tag not in ('"2"', '"1"'), (noun, parent_tag)
        r = await api.patch(url, json=change, headers={**alice.headers, "If-Match": parent_tag})
        assert r.status_code == 412, (noun, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")


async def test_a_stale_if_match_gets_412_and_changes_nothing(api: AsyncTestClient, alice: User) -> None:
    made = await _items(api, alice)
    for noun, change in PATCHES.items():
        url, tag, _ = made[noun]
        stale = {**alice.headers, "If-Match": tag}
        assert (await api.patch(url, json=change, headers=stale)).status_code == 200
        assert (await api.patch(url, json=change, headers=stale)).status_code == 412, noun
        assert (await api.delete(url, headers=stale)).status_code == 412, noun
        r = await api.get(url, headers=alice.headers)
        assert r.status_code == 200 and r.headers["etag"] == '"2"', noun
        r = await api.delete(url, headers={**alice.headers, "If-Match": '"2"'})
        assert r.status_code == 204, (noun, r.text)
        assert (await api.get(url, headers=alice.headers)).status_code == 404, noun


async def test_an_instance_keeps_its_etag_when_the_session_or_a_sibling_changes(
    api: AsyncTestClient, alice: User
) -> None:
    made = await _items(api, alice)
    url, tag, instance = made["instance"]
    r = await api.post(
        f"{made['session']}/activities", json={"activity_id": instance["activity_id"]}, headers=alice.headers
    )
    sibling = r.headers["location"]
    assert (await api.patch(sibling, json={"sort_order": 9}, headers=alice.headers)).status_code == 200
    assert (
        await api.patch(made["session"], json={"title": "Later"}, headers=alice.headers)
    ).status_code == 200
    assert (await api.get(url, headers=alice.headers)).headers["etag"] == tag
    r = await api.patch(url, json={"sort_order": 1}, headers={**alice.headers, "If-Match": tag})
    assert r.status_code == 200 and r.headers["etag"] == '"2"', r.text


async def test_timer_and_values_answers_carry_the_new_etag(api: AsyncTestClient, alice: User) -> None:
    made = await _items(api, alice)
    url, _, _ = made["instance"]
    metric = made["metric"][2]
    answers = [
        await api.post(f"{url}/start", headers=alice.headers),
        await api.post(f"{url}/stop", headers=alice.headers),
        await api.put(
            f"{url}/metrics", json=[{"metric_id": metric["id"], "value": 5}], headers=alice.headers
        ),
    ]
    for expected, r in zip(('"2"', '"3"', '"4"'), answers, strict=True):
        assert r.status_code == 200 and r.headers["etag"] == expected, r.text
    read = await api.get(url, headers=alice.headers)
    assert (read.headers["etag"], read.json()) == ('"4"', answers[-1].json())


async def test_timer_and_values_honour_if_match_before_their_own_rules(
    api: AsyncTestClient, alice: User
) -> None:
    made = await _items(api, alice)
    url, tag, _ = made["instance"]
    values = [{"metric_id": made["metric"][2]["id"], "value": 5}]
    stale = {**alice.headers, "If-Match": '"9"'}
    for r in (
        await api.post(f"{url}/start", headers=stale),
        await api.post(f"{url}/stop", headers=stale),  # not running (409) - the 412 comes first
        await api.put(f"{url}/metrics", json=values, headers=stale),
    ):
        assert r.status_code == 412, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    read = await api.get(url, headers=alice.headers)
    assert read.headers["etag"] == tag and read.json()["time_start"] is None and read.json()["metrics"] == []

    started = await api.post(f"{url}/start", headers={**alice.headers, "If-Match": tag})
    assert started.status_code == 200 and started.headers["etag"] == '"2"', started.text
    r = await api.post(f"{url}/stop", headers={**alice.headers, "If-Match": tag})
    assert r.status_code == 412, r.text  # another client's start moved it on
    r = await api.post(f"{url}/stop", headers={**alice.headers, "If-Match": '"2"'})
    assert r.status_code == 200 and r.headers["etag"] == '"3"', r.text
    r = await api.put(f"{url}/metrics", json=values, headers={**alice.headers, "If-Match": '"3", "7"'})
    assert r.status_code == 200 and r.headers["etag"] == '"4"', r.text


async def test_a_create_retried_with_its_key_answers_the_same_etag(api: AsyncTestClient, alice: User) -> None:
    made = await _items(api, alice)
    headers, body = {**alice.headers, "Idempotency-Key": "metric-once"}, {"name": "reps", "unit": "count"}
    first = await api.post(f"{made['activity']}/metrics", json=body, headers=headers)
    again = await api.post(f"{made['activity']}/metrics", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["etag"] == first.headers["etag"] == '"1"'
    assert again.json() == first.json()
    activity = (await api.get(made["activity"], headers=alice.headers)).json()
    assert [m["name"] for m in activity["metrics"]].count("reps") == 1


async def test_the_document_lists_412_and_if_match(api: AsyncTestClient) -> None:
    paths = (await api.get("/schema/openapi.json")).json()["paths"]
    items = {
        f"{ACTIVITIES}/{{activity_id}}/metrics/{{metric_id}}": "Metric",
        f"{ACTIVITIES}/{{activity_id}}/splits/{{split_id}}": "Split",
        f"{SESSIONS}/{{session_id}}/activities/{{instance_id}}": "ActivityInstance",
    }
    for path, name in items.items():
        for method, verb in (("patch", "Update"), ("delete", "Delete")):
            operation = paths[path][method]
            assert operation["operationId"] == verb + name
            assert "412" in operation["responses"], (verb + name, sorted(operation["responses"]))
            headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
            assert "If-Match" in headers, verb + name
        create = paths[path.rsplit("/", 1)[0]]["post"]
        assert create["operationId"] == "Create" + name
        assert "Idempotency-Key" in {p["name"] for p in create["parameters"] if p["in"] == "header"}
        assert set(create["responses"]["201"]["headers"]) == {"ETag", "Location"}, name
        for method in ("get", "patch"):
            assert set(paths[path][method]["responses"]["200"]["headers"]) == {"ETag"}, (method, name)
        not_modified = paths[path]["get"]["responses"]["304"]["headers"]["ETag"]
        assert not_modified["schema"]["pattern"] == '^"[0-9]+"$', name
    instance = f"{SESSIONS}/{{session_id}}/activities/{{instance_id}}"
    for path, method in (
        (f"{instance}/start", "post"),
        (f"{instance}/stop", "post"),
        (f"{instance}/metrics", "put"),
    ):
        operation = paths[path][method]
        assert "If-Match" in {p["name"] for p in operation["parameters"] if p["in"] == "header"}, path
        assert "412" in operation["responses"], path
        etag = operation["responses"]["200"]["headers"]["ETag"]
        assert etag["required"] is True and etag["schema"] == {"type": "string", "pattern": '^"[0-9]+"$'}
