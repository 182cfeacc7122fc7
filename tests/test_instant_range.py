"""Every client-supplied instant lies in 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z (through
the gateway).  A fuzzer once saw ``GET /journal/entries`` answer ``entry_date: "0001-01-01T00:00:00"``
(no offset): an instant whose UTC is year 0 or 10000 was stored, and read back as what Python could
represent.  Such values are now a 422 naming the field, never a stored row or a 500."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

PASSWORD = "correct horse battery staple"
ENTRIES = "/api/v1/journal/entries"
#: Valid RFC 3339 with an offset, but year 0 or year 10000 in UTC.
OUT_OF_RANGE = ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:30:00-00:31")
RANGE_TEXT = "from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z once converted to UTC"
#: The very ends of the range are fine.
EDGES = ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00+01:00", "9999-12-31T23:59:59.999999Z")


@pytest.fixture(scope="module")
def auth(http: httpx.Client) -> dict[str, str]:
    email = f"instants-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    login = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _field_error(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields == [field], response.text


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_an_entry_date_outside_the_range_is_refused_and_never_stored(
    http: httpx.Client, auth: dict[str, str], instant: str
) -> None:
    r = http.post(ENTRIES, json={"title": "far", "content": "away", "entry_date": instant}, headers=auth)
    _field_error(r, "entry_date")
    listed = http.get(ENTRIES, headers=auth)
    assert listed.status_code == 200, listed.text
    assert all(item["entry_date"].endswith("Z") for item in listed.json()["items"]), listed.text


def test_the_ends_of_the_range_are_stored_and_read_back(http: httpx.Client, auth: dict[str, str]) -> None:
    for instant in EDGES:
        r = http.post(ENTRIES, json={"title": "edge", "content": "edge", "entry_date": instant}, headers=auth)
        assert r.status_code == 201, r.text
        entry = r.json()
        got = http.get(f"{ENTRIES}/{entry['id']}", headers=auth)
        assert got.status_code == 200, got.text
        assert got.json()["entry_date"] == entry["entry_date"]
        assert entry["entry_date"].endswith("Z"), entry
    listed = http.get(ENTRIES, params={"limit": 100}, headers=auth)
    assert listed.status_code == 200, listed.text
    dates = [item["entry_date"] for item in listed.json()["items"]]
    assert "9999-12-31T23:59:59.999999Z" in dates and "0001-01-01T00:00:00Z" in dates, dates


def test_every_instant_in_a_body_is_checked(http: httpx.Client, auth: dict[str, str]) -> None:
    bad = OUT_OF_RANGE[0]
    r = http.post(ENTRIES, json={"title": "t", "content": "c", "entry_date": EDGES[0]}, headers=auth)
    assert r.status_code == 201, r.text
    entry = r.json()
    patch = http.patch(f"{ENTRIES}/{entry['id']}", json={"entry_date": OUT_OF_RANGE[1]}, headers=auth)
    _field_error(patch, "entry_date")
    _field_error(http.post("/api/v1/tasks", json={"title": "t", "due_at": bad}, headers=auth), "due_at")
    _field_error(http.post("/api/v1/goals", json={"title": "g", "deadline": bad}, headers=auth), "deadline")
    goal = http.post("/api/v1/goals", json={"title": "g"}, headers=auth)
    assert goal.status_code == 201, goal.text
    sessions = f"/api/v1/goals/{goal.json()['id']}/sessions"
    _field_error(http.post(sessions, json={"started_at": bad}, headers=auth), "started_at")
    _field_error(http.post(sessions, json={"ended_at": OUT_OF_RANGE[2]}, headers=auth), "ended_at")


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (ENTRIES, "from"),
        (ENTRIES, "to"),
        ("/api/v1/tasks", "due_before"),
        ("/api/v1/tasks", "due_after"),
    ],
)
@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_every_instant_in_a_query_is_checked(
    http: httpx.Client, auth: dict[str, str], path: str, name: str, instant: str
) -> None:
    _field_error(http.get(path, params={name: instant}, headers=auth), name)


def test_session_and_stats_filters_are_checked(http: httpx.Client, auth: dict[str, str]) -> None:
    goal = http.post("/api/v1/goals", json={"title": "stats"}, headers=auth)
    assert goal.status_code == 201, goal.text
    root = goal.json()["id"]
    for name in ("from", "to"):
        r = http.get(f"/api/v1/goals/{root}/sessions", params={name: OUT_OF_RANGE[1]}, headers=auth)
        _field_error(r, name)
    stats = f"/api/v1/goals/{root}/stats"
    r = http.get(stats, params={"from": OUT_OF_RANGE[0], "to": "2026-01-01T00:00:00Z"}, headers=auth)
    _field_error(r, "from")


def _date_times(node: Any, schemas: dict[str, Any], seen: set[str]) -> Iterator[dict[str, Any]]:
    """Every date-time schema reachable from ``node`` (following ``$ref`` once each)."""
    if isinstance(node, list):
        for item in node:
            yield from _date_times(item, schemas, seen)
    elif isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.rsplit("/", 1)[-1] not in seen:
            seen.add(ref.rsplit("/", 1)[-1])
            yield from _date_times(schemas.get(ref.rsplit("/", 1)[-1]), schemas, seen)
        if node.get("format") == "date-time":
            yield node
        for key, value in node.items():
            if key not in ("examples", "example", "default", "enum", "const"):
                yield from _date_times(value, schemas, seen)


def test_every_request_instant_states_the_range_in_the_document(http: httpx.Client) -> None:
    document = http.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if any(True for _ in _date_times(parameter.get("schema"), schemas, set())):
                    assert RANGE_TEXT in parameter.get("description", ""), (method, path, parameter)
                    checked += 1
            body = operation.get("requestBody", {})
            for node in _date_times(body, schemas, set()):
                assert RANGE_TEXT in node.get("description", ""), (method, path, node)
                checked += 1
    assert checked >= 15, checked


@pytest.mark.parametrize(
    ("start_date", "timezone"), [("9999-12-31", "America/Los_Angeles"), ("0001-01-01", "Pacific/Kiritimati")]
)
def test_a_reminder_at_the_ends_of_the_calendar_is_refused(
    http: httpx.Client, auth: dict[str, str], start_date: str, timezone: str
) -> None:
    """Its first instant would be year 10000 or year 0 in UTC (reminders take 1970..2999 anyway)."""
    body = {"title": "far", "message": "", "frequency": "daily", "time": "23:00", "timezone": timezone}
    _field_error(
        http.post("/api/v1/reminders", json={**body, "start_date": start_date}, headers=auth), "start_date"
    )


def test_sessions_tasks_and_goals_at_the_ends_read_back_with_an_offset(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    first, last = EDGES[0], EDGES[2]
    goal = http.post("/api/v1/goals", json={"title": "ends", "deadline": last}, headers=auth)
    assert goal.status_code == 201, goal.text
    root = goal.json()["id"]
    task = http.post("/api/v1/tasks", json={"title": "ends", "due_at": first}, headers=auth)
    assert task.status_code == 201, task.text
    session = http.post(
        f"/api/v1/goals/{root}/sessions", json={"started_at": first, "ended_at": last}, headers=auth
    )
    assert session.status_code == 201, session.text
    activity = http.post(f"/api/v1/goals/{root}/activities", json={"name": "run"}, headers=auth)
    assert activity.status_code == 201, activity.text
    instance = http.post(
        f"/api/v1/sessions/{session.json()['id']}/activities",
        json={"activity_id": activity.json()["id"], "time_start": first, "time_stop": last},
        headers=auth,
    )
    assert instance.status_code == 201, instance.text
    reads = [
        http.get(f"/api/v1/goals/{root}", headers=auth),
        http.get("/api/v1/goals", headers=auth),
        http.get("/api/v1/tasks", headers=auth),
        http.get("/api/v1/tasks", params={"sort": "due_at"}, headers=auth),
        http.get(f"/api/v1/tasks/{task.json()['id']}", headers=auth),
        http.get(f"/api/v1/goals/{root}/sessions", headers=auth),
        http.get(f"/api/v1/sessions/{session.json()['id']}", headers=auth),
        http.get(
            f"/api/v1/goals/{root}/stats",
            params={"from": first, "to": "0001-02-01T00:00:00Z", "bucket": "week"},
            headers=auth,
        ),
    ]
    assert reads[-1].json()["items"], reads[-1].text  # the session is in the first week's bucket
    for read in reads:
        assert read.status_code == 200, (read.request.url, read.text)
        text = read.text
        assert '0001-01-01T00:00:00"' not in text and '9999-12-31T23:59:59.999999"' not in text, text
