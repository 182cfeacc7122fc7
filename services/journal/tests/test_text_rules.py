"""Names and titles refuse invisible characters that change how they read; multi-line texts keep
tabs and line breaks and refuse the other control characters (``daybook_common.text``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from daybook_journal.testing import ACTIVITIES, GOALS, SESSIONS, User, make_activity, make_goal, make_session

#: Each renders as something other than what it holds, or breaks the line.
NOT_IN_A_LINE = [
    "\x01",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\x9b",
    "\n",
    "\t",
    "\r",
    "\u2028",
    "\u202e",
    "\u2066",
    "\u2069",
]
NOT_IN_A_TEXT = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f"]
#: Printable non-ASCII, right-to-left script and joiners are fine in a name.
FINE_NAMES = ["Café ✓", "שלום עולם", "🏃\u200d♀️ run", "a  b"]
FINE_TEXT = "line one\r\nline two\n\tindented \u202eoverride\u202c and שלום"

Post = Callable[[AsyncTestClient, User, dict[str, Any]], Awaitable[Any]]


async def _tree(api: AsyncTestClient, user: User) -> dict[str, Any]:
    root = await make_goal(api, user)
    activity = await make_activity(api, user, root["id"], "Row")
    session = await make_session(api, user, root["id"])
    return {"root": root["id"], "activity": activity["id"], "session": session["id"]}


def _create_paths(ids: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """field kind → (create path, a valid body the field is added to)."""
    tree = f"{GOALS}/{ids['root']}"
    return {
        "tag.name": ("/api/v1/journal/tags", {}),
        "entry.title": ("/api/v1/journal/entries", {"entry_date": "2026-01-01T00:00:00Z", "content": "c"}),
        "task.title": ("/api/v1/tasks", {}),
        "goal.title": (GOALS, {}),
        "group.name": (f"{tree}/activity-groups", {}),
        "activity.name": (f"{tree}/activities", {}),
        "metric.name": (f"{ACTIVITIES}/{ids['activity']}/metrics", {"unit": "kg"}),
        "metric.unit": (f"{ACTIVITIES}/{ids['activity']}/metrics", {"name": "weight"}),
        "split.name": (f"{ACTIVITIES}/{ids['activity']}/splits", {}),
        "template.name": (f"{tree}/templates", {"activity_ids": []}),
        "session.title": (f"{tree}/sessions", {}),
    }


async def test_single_line_fields_refuse_control_and_bidi_characters(
    api: AsyncTestClient, alice: User
) -> None:
    ids = await _tree(api, alice)
    for kind, (path, body) in _create_paths(ids).items():
        field = kind.split(".")[1]
        for bad in NOT_IN_A_LINE:
            r = await api.post(path, json={**body, field: f"x{bad}y"}, headers=alice.headers)
            assert r.status_code == 422, (kind, bad, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            (error,) = r.json()["errors"]
            assert error["field"] == field, (kind, error)
            assert "bidirectional" in error["message"] and "regex" not in error["message"], error
        for n, fine in enumerate(FINE_NAMES):
            value, others = (fine, {"name": f"weight {n}"}) if field == "unit" else (f"{fine} {n}", {})
            r = await api.post(path, json={**body, **others, field: value}, headers=alice.headers)
            assert r.status_code == 201, (kind, fine, r.text)
            assert r.json()[field] == value


async def test_changes_are_held_to_the_same_rules(api: AsyncTestClient, alice: User) -> None:
    ids = await _tree(api, alice)
    for path, field in (
        (f"{SESSIONS}/{ids['session']}", "title"),
        (f"{ACTIVITIES}/{ids['activity']}", "name"),
        (f"{GOALS}/{ids['root']}", "title"),
    ):
        r = await api.patch(path, json={field: "evil\u202etxt.exe"}, headers=alice.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
        r = await api.patch(path, json={field: "fine"}, headers=alice.headers)
        assert r.status_code == 200 and r.json()[field] == "fine"


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("entry", "content"),
        ("task", "description"),
        ("goal", "description"),
        ("activity", "description"),
        ("session", "notes"),
    ],
)
async def test_multi_line_fields_keep_lines_and_tabs_but_no_other_control_character(
    api: AsyncTestClient, alice: User, kind: str, field: str
) -> None:
    ids = await _tree(api, alice)
    path, body = {
        "entry": ("/api/v1/journal/entries", {"entry_date": "2026-01-01T00:00:00Z"}),
        "task": ("/api/v1/tasks", {"title": "t"}),
        "goal": (GOALS, {"title": "g"}),
        "activity": (f"{GOALS}/{ids['root']}/activities", {"name": "Swim"}),
        "session": (f"{GOALS}/{ids['root']}/sessions", {}),
    }[kind]
    for bad in NOT_IN_A_TEXT:
        r = await api.post(path, json={**body, field: f"a{bad}b"}, headers=alice.headers)
        assert r.status_code == 422, (kind, bad, r.text)
        (error,) = r.json()["errors"]
        assert error["field"] == field, error
        assert ("NUL" if bad == "\x00" else "control") in error["message"], error  # NUL: the input guard's
    r = await api.post(path, json={**body, field: FINE_TEXT}, headers=alice.headers)
    assert r.status_code == 201, r.text
    assert r.json()[field] == FINE_TEXT


async def test_the_document_states_the_rules(api: AsyncTestClient) -> None:
    schemas = (await api.get("/schema/openapi.json")).json()["components"]["schemas"]
    name = schemas["TagCreate"]["properties"]["name"]
    assert "\\u202a-\\u202e" in name["pattern"] and "allOf" not in name  # refuses NUL itself
    content = schemas["EntryCreate"]["properties"]["content"]  # a string or null: the rule is beside
    assert "\\x0e-\\x1f" in content["pattern"] and "\\u202a" not in content["pattern"]
