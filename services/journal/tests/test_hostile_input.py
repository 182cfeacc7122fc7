"""Bad input gets a clear 4xx problem+json, never a 500 (issue 12): every string field and
query parameter the journal's OpenAPI document lists, with NUL in it, is refused with a 422
naming the field; deep nesting, invalid UTF-8 and non-JSON bodies are refused on every route."""

from __future__ import annotations

import gc
import logging
import uuid

import pytest
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.hostile import (
    NAIVE_INSTANT,
    NUL,
    OUT_OF_RANGE_INSTANTS,
    PAST_INTEGER,
    assert_refuses_hostile_input,
    forged_cursor,
)
from daybook_journal.testing import User, make_entry, make_goal


async def test_every_route_refuses_hostile_input(
    api: AsyncTestClient, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    cases = await assert_refuses_hostile_input(api, alice.headers, min_cases=10)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    fields = {c.field for c in cases}
    assert {"content", "title", "q", "name"} <= fields


async def test_nul_in_entry_content_is_a_422_and_nothing_is_stored(api: AsyncTestClient, alice: User) -> None:
    r = await api.post(
        "/api/v1/journal/entries",
        json={"title": "t", "content": NUL, "entry_date": "2026-01-02T09:00:00Z"},
        headers=alice.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "content", "message": "must not contain the NUL character"}]
    assert r.headers["server"] == "daybook"  # replaces the one Granian would name itself in
    listed = await api.get("/api/v1/journal/entries", headers=alice.headers)
    assert listed.json()["items"] == []


async def test_a_literal_backslash_u0000_is_ordinary_text(api: AsyncTestClient, alice: User) -> None:
    r = await api.post(
        "/api/v1/journal/entries",
        json={
            "title": "t",
            "content": "\\u0000 is how JSON writes NUL",
            "entry_date": "2026-01-02T09:00:00Z",
        },
        headers=alice.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["content"] == "\\u0000 is how JSON writes NUL"


@pytest.mark.parametrize(
    "escaped",
    [
        pytest.param(r"\ud800", id="high-at-end"),  # msgspec answered "Input data was truncated"
        pytest.param(r"\uD83Dx", id="high-then-text"),
        pytest.param(r"\udc00", id="low-alone"),
    ],
)
async def test_an_unpaired_surrogate_is_a_400_saying_so_and_nothing_is_stored(
    api: AsyncTestClient, alice: User, escaped: str
) -> None:
    body = '{"title": "' + escaped + '", "content": "c", "entry_date": "2026-01-02T09:00:00Z"}'
    r = await api.post(
        "/api/v1/journal/entries",
        content=body.encode(),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "unpaired surrogate" in r.json()["detail"]
    assert "truncated" not in r.text
    listed = await api.get("/api/v1/journal/entries", headers=alice.headers)
    assert listed.json()["items"] == []


async def test_an_escaped_surrogate_pair_and_a_literal_backslash_u_d800_are_text(
    api: AsyncTestClient, alice: User
) -> None:
    body = r'{"title": "\ud83d\ude00", "content": "\\ud800", "entry_date": "2026-01-02T09:00:00Z"}'
    r = await api.post(
        "/api/v1/journal/entries",
        content=body.encode(),
        headers={**alice.headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 201, r.text
    assert (r.json()["title"], r.json()["content"]) == ("\U0001f600", "\\ud800")


async def test_forged_cursors_are_a_422_on_every_list(api: AsyncTestClient, alice: User) -> None:
    """Cursors are opaque but not signed: one with a value the database cannot take (past an
    ``integer``, a timestamp without offset or out of range in UTC, NUL in text) is a bad cursor
    like any other, never a 500 from PostgreSQL."""
    root = (await make_goal(api, alice, "forged cursors"))["id"]
    entry = await make_entry(api, alice)
    r = await api.patch(f"/api/v1/journal/entries/{entry['id']}", json={"title": "v2"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    some = str(uuid.uuid4())
    instants = [NAIVE_INSTANT, *OUT_OF_RANGE_INSTANTS]
    forged = {
        "/api/v1/journal/entries": [(t, some) for t in instants],
        "/api/v1/journal/entries?q=word": [(t, some) for t in instants],
        "/api/v1/journal/trash": [(t, some) for t in instants],
        "/api/v1/journal/tags": [(NUL,)],
        f"/api/v1/journal/entries/{entry['id']}/revisions": [(2**63,)],
        "/api/v1/tasks?sort=due_at": [("due_at", t, some) for t in instants],
        "/api/v1/tasks?sort=-created_at": [("-created_at", t, some) for t in instants],
        "/api/v1/tasks?sort=priority": [("priority", PAST_INTEGER, some)],
        "/api/v1/tasks/trash": [(t, some) for t in instants],
        "/api/v1/goals": [(PAST_INTEGER, "2026-01-02T09:00:00Z", some), *((0, t, some) for t in instants)],
        f"/api/v1/goals?root_id={root}": [
            (0, PAST_INTEGER, "2026-01-02T09:00:00Z", some),
            (-PAST_INTEGER - 1, 0, "2026-01-02T09:00:00Z", some),
            *((0, 0, t, some) for t in instants),
        ],
        "/api/v1/goals/trash": [(t, some) for t in instants],
        f"/api/v1/goals/{root}/activities": [(NUL, some)],
        f"/api/v1/goals/{root}/activities/trash": [(t, some) for t in instants],
        f"/api/v1/goals/{root}/templates": [(NUL, some)],
        f"/api/v1/goals/{root}/sessions": [(t, some) for t in instants],
        f"/api/v1/goals/{root}/sessions/trash": [(t, some) for t in instants],
    }
    for path, cursors in forged.items():
        for values in cursors:
            params = {"cursor": forged_cursor(*values)}
            r = await api.get(path, params=params, headers=alice.headers)
            assert r.status_code == 422, f"{path} {values}: {r.status_code} {r.text[:200]}"
            assert r.json()["errors"] == [{"field": "cursor", "message": "invalid cursor"}], path


async def test_a_method_or_path_without_a_handler_is_405_or_404_whatever_its_input(
    api: AsyncTestClient, alice: User
) -> None:
    """The input guard answered these first (schemathesis --mode negative: TRACE with a NUL in
    ``cursor`` was 422, not the 405 an undeclared method gets); the routing's answer comes first."""
    trash = "/api/v1/journal/trash"
    json_type = {**alice.headers, "Content-Type": "application/json"}
    deep = b"[" * 40 + b"]" * 40
    for method, url, content, headers in [
        ("TRACE", f"{trash}?cursor=%00", None, alice.headers),
        ("PUT", f"{trash}?cursor=%00", b'{"a": 1}', json_type),
        ("PUT", trash, b'{"a": "\\u0000"}', json_type),
        ("PATCH", trash, deep, json_type),
        ("POST", trash, b"not json", {**alice.headers, "Content-Type": "text/plain"}),
    ]:
        r = await api.request(method, url, content=content, headers=headers)
        assert r.status_code == 405, (method, url, r.text)
        assert {"GET", "DELETE"} <= {m.strip() for m in r.headers["allow"].split(",")}
    r = await api.get("/api/v1/journal/nowhere?q=%00", headers=alice.headers)
    assert r.status_code == 404, r.text
    # Where there is a handler, the guard still answers.
    r = await api.get(f"{trash}?cursor=%00", headers=alice.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "cursor", "message": "must not contain the NUL character"}]
    r = await api.post("/api/v1/journal/tags", content=deep, headers=json_type)
    assert r.status_code == 422, r.text


async def test_a_refused_request_with_an_empty_parameter_gives_its_connection_back(
    api: AsyncTestClient, alice: User
) -> None:
    """``GET /goals?limit=&root_id=<unknown>`` (schemathesis found it: the journal answered 503
    for 40 s): the empty ``limit`` made the query middleware copy the scope, the request's
    session was kept in the copy, and the 404 left its connection checked out. More of them
    than the pool holds (20) and every request waited 10 s for a connection and got 503. The
    garbage collector is paused here, so what the pool holds is what the requests left."""
    gc.disable()
    try:
        for _ in range(25):
            r = await api.get(f"/api/v1/goals?limit=&cursor=&root_id={uuid.uuid4()}", headers=alice.headers)
            assert r.status_code == 404, r.text
        r = await api.get("/api/v1/goals?limit=", headers=alice.headers)
        assert r.status_code == 200, r.text
    finally:
        gc.enable()
