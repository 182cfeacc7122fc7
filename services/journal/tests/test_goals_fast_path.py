"""The tree's and the sessions page's fast paths answer exactly what the handlers answer.

The same requests go to two apps on one database — fast paths on (the default) and off
(``JOURNAL_LIST_FAST_PATH=false``) — over a tree with the awkward parts: non-ASCII and
control characters, nulls and deadlines with microseconds, three levels, a goal in the trash,
sessions with instances, split and fractional metric values, goal links, equal start times
and more than one page; and the documented shape (every field of the OpenAPI schema) is checked.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from unittest import mock

import pytest
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.same import same_answer
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal.goals import fast_path
from daybook_journal.testing import GOALS, SESSIONS, User, make_activity, make_goal, make_session


@pytest.fixture(scope="module")
async def practiser(
    api: AsyncTestClient, signer: TestSigner, store_as_before: Callable[..., Awaitable[None]]
) -> tuple[User, dict[str, Any]]:
    """A user with an awkward tree and 25 sessions; returns the user and the ids."""
    user_id = uuid.uuid4()
    user = User(id=user_id, headers=signer.headers(user_id, ttl=3600))
    root = await make_goal(api, user, "Ünïcode", description="a\\b \u2028\n\t")
    # control characters in the title, as rows written before daybook_common.text may hold them
    await store_as_before(
        "goals", root["id"], title='Ünïcode "goal" ✓ 😀\n\t\x01', description="a\\b \u2028\x01"
    )
    mid = await make_goal(
        api, user, "mid", parent_id=root["id"], deadline="2027-01-23T08:00:00.123456+02:00", sort_order=2
    )
    await make_goal(api, user, "first", parent_id=root["id"], sort_order=1)
    await make_goal(api, user, "leaf ß", parent_id=mid["id"])
    gone = await make_goal(api, user, "gone", parent_id=mid["id"])
    assert (await api.delete(f"{GOALS}/{gone['id']}", headers=user.headers)).status_code == 204
    r = await api.patch(
        f"{GOALS}/{mid['id']}", json={"status": "done"}, headers={**user.headers, "If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text
    lift = await make_activity(
        api,
        user,
        root["id"],
        "Lift ✓",
        metrics=[{"name": "kg", "unit": "kg"}, {"name": "reps", "unit": "count"}],
        splits=[{"name": "left"}, {"name": "right"}],
    )
    run = await make_activity(api, user, root["id"], "Run", metrics=[{"name": "km", "unit": "km"}])
    kg, reps = (m["id"] for m in lift["metrics"])
    left, right = (sp["id"] for sp in lift["splits"])
    for n in range(25):
        session = await make_session(
            api,
            user,
            root["id"],
            title=None if n % 3 else f"Morning ✓ {n}",
            notes="notes\u2028" if n % 2 else None,
            started_at=f"2026-03-{1 + n % 4:02d}T08:00:00{'.5' if n % 5 == 0 else ''}Z",
            goal_ids=[mid["id"]] if n % 2 else [],
        )
        if n % 4 == 0:
            continue
        url = f"{SESSIONS}/{session['id']}/activities"
        for body in (
            {
                "activity_id": lift["id"],
                "time_start": "2026-03-01T08:00:00.000001Z",
                "time_stop": "2026-03-01T08:10:30Z",
                "sort_order": 2,
                "metrics": [
                    {"metric_id": kg, "split_id": right, "value": 22.5},
                    {"metric_id": kg, "split_id": left, "value": 20},
                    {"metric_id": reps, "value": 1e-7 + n},
                ],
            },
            {
                "activity_id": run["id"],
                "duration_seconds": 60 * n,
                "metrics": [{"metric_id": run["metrics"][0]["id"], "value": 3.3}],
            },
            {"activity_id": run["id"]},
        ):
            r = await api.post(url, json=body, headers=user.headers)
            assert r.status_code == 201, r.text
    trashed = await make_session(api, user, root["id"], title="trashed")
    assert (await api.delete(f"{SESSIONS}/{trashed['id']}", headers=user.headers)).status_code == 204
    return user, {"root": root["id"], "mid": mid["id"], "gone": gone["id"]}


def _documented(api: AsyncTestClient, operation_id: str) -> dict[str, Any]:
    """The 200 response schema of ``operation_id`` in the app's OpenAPI document, references resolved."""
    doc = api.app.openapi_schema.to_schema()
    schemas = doc["components"]["schemas"]
    for item in doc["paths"].values():
        operation = item.get("get")
        if operation and operation["operationId"] == operation_id:
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            return dict(schemas[schema["$ref"].rsplit("/", 1)[1]]) if "$ref" in schema else dict(schema)
    raise AssertionError(operation_id)


def _ref(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    return dict(schemas[schema["$ref"].rsplit("/", 1)[1]]) if "$ref" in schema else schema


async def test_the_tree_fast_path_answers_as_the_handler(
    api: AsyncTestClient,
    slow_api: AsyncTestClient,
    practiser: tuple[User, dict[str, Any]],
    signer: TestSigner,
    bob: User,
) -> None:
    user, ids = practiser
    token = user.headers["Authorization"].split()[1]
    expired = signer.token(user.id, exp=1_000_000_000, iat=999_999_000, nbf=999_999_000)
    with mock.patch.object(fast_path, "_encode", wraps=fast_path._encode) as encode:
        tree = (await same_answer(api, slow_api, f"{GOALS}/{ids['root']}/tree", user.headers)).json()
        assert encode.call_count == 1  # the fast app's request took the fast path
        await same_answer(api, slow_api, f"{GOALS}/{ids['mid']}/tree", user.headers)
        for missing in (ids["gone"], str(uuid.uuid4())):
            assert (
                await same_answer(api, slow_api, f"{GOALS}/{missing}/tree", user.headers)
            ).status_code == 404
        # another user's root: 404, not theirs to see
        assert (
            await same_answer(api, slow_api, f"{GOALS}/{ids['root']}/tree", bob.headers)
        ).status_code == 404
        for headers in (
            {},
            {"Authorization": "Basic eHl6"},
            {"Authorization": "Bearer abc.def.ghi"},
            {"Authorization": f"Bearer {expired}"},
        ):
            assert (
                await same_answer(api, slow_api, f"{GOALS}/{ids['root']}/tree", headers)
            ).status_code == 401
        await same_answer(api, slow_api, f"{GOALS}/{ids['root']}/tree", {"Authorization": f"bearer {token}"})
        assert encode.call_count == 3
        # a query string goes to the handler
        await same_answer(api, slow_api, f"{GOALS}/{ids['root']}/tree?x=1", user.headers)
        assert encode.call_count == 3
    assert (await same_answer(api, slow_api, f"{GOALS}/not-a-uuid/tree", user.headers)).status_code == 404
    # the documented shape, at every level; the trashed goal is not there
    schema = _documented(api, "GetGoalTree")
    keys = set(schema["properties"])

    def walk(node: dict[str, Any]) -> int:
        assert set(node) == keys
        return 1 + sum(walk(child) for child in node["children"])

    assert walk(tree) == 4
    assert [c["title"] for c in tree["children"]] == ["first", "mid"]
    assert tree["title"] == 'Ünïcode "goal" ✓ 😀\n\t\x01' and tree["children"][1]["completed_at"] is not None
    assert tree["children"][1]["deadline"] == "2027-01-23T06:00:00.123456Z"


async def test_the_sessions_fast_path_answers_as_the_handler(
    api: AsyncTestClient, slow_api: AsyncTestClient, practiser: tuple[User, dict[str, Any]], bob: User
) -> None:
    user, ids = practiser
    url = f"{GOALS}/{ids['root']}/sessions"
    first = (await api.get(url, params={"limit": 7}, headers=user.headers)).json()
    cursor = first["next_cursor"]
    assert cursor
    queries = [
        "",
        "limit=1",
        "limit=7",
        "limit=100",
        f"limit=7&cursor={cursor}",
        f"cursor={cursor}",
        "cursor=zzz",
        "cursor=" + "A" * 300,
        "cursor=" + "A" * 2000,
        "limit=0",
        "limit=101",
        "limit=05",
        "limit=5&limit=6",
        "limit=5&foo=bar",
        "cursor=",
        "from=2026-03-02T00:00:00Z",
        "to=2026-03-03T00:00:00Z&limit=3",
    ]
    with mock.patch.object(fast_path, "encode_page", wraps=fast_path.encode_page) as encode_page:
        pages = {}
        for query in queries:
            pages[query] = await same_answer(api, slow_api, f"{url}?{query}" if query else url, user.headers)
        assert encode_page.call_count >= 6  # the simple shapes that are 200 took the fast path
        # every session of the tree, page by page, each page the same on both paths
        seen: list[dict[str, Any]] = []
        next_cursor: str | None = None
        while True:
            page = (
                await same_answer(
                    api,
                    slow_api,
                    f"{url}?limit=4" + (f"&cursor={next_cursor}" if next_cursor else ""),
                    user.headers,
                )
            ).json()
            seen += page["items"]
            next_cursor = page["next_cursor"]
            if next_cursor is None:
                break
        assert len(seen) == 25 and len({s["id"] for s in seen}) == 25
        for root in (ids["mid"], ids["gone"], str(uuid.uuid4())):  # not a live root of the caller's
            assert (
                await same_answer(api, slow_api, f"{GOALS}/{root}/sessions", user.headers)
            ).status_code == 404
        assert (await same_answer(api, slow_api, url, bob.headers)).status_code == 404
        assert (await same_answer(api, slow_api, url, {})).status_code == 401
    assert pages["cursor=zzz"].status_code == 422
    assert pages["cursor=" + "A" * 2000].status_code == 422
    # the documented shape
    doc = api.app.openapi_schema.to_schema()
    schemas = doc["components"]["schemas"]
    page_schema = _documented(api, "ListSessions")
    assert set(pages[""].json()) == set(page_schema["properties"])
    session_schema = _ref(schemas, page_schema["properties"]["items"]["items"])
    instance_schema = _ref(schemas, session_schema["properties"]["activities"]["items"])
    value_schema = _ref(schemas, instance_schema["properties"]["metrics"]["items"])
    instances = values = 0
    for session in seen:
        assert set(session) == set(session_schema["properties"])
        for instance in session["activities"]:
            instances += 1
            assert set(instance) == set(instance_schema["properties"])
            for value in instance["metrics"]:
                values += 1
                assert set(value) == set(value_schema["properties"])
    assert instances == 18 * 3 and values == 18 * 4
    assert any(v["value"] == 22.5 for s in seen for i in s["activities"] for v in i["metrics"])
    assert "2026-03-01T08:00:00.000001Z" in pages["limit=100"].text
