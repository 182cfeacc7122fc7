"""Reminders through the gateway: an RFC 5545 rule's occurrences, a bad rule's 422, trash and restore."""

from __future__ import annotations

import uuid

import httpx

PASSWORD = "correct horse battery staple"


def account(http: httpx.Client) -> dict[str, str]:
    email = f"rules-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def rule_reminder(rrule: str) -> dict[str, str]:
    return {
        "title": "Team retro",
        "message": "",
        "frequency": "rrule",
        "rrule": rrule,
        "time": "16:00",
        "timezone": "Europe/Berlin",
        "start_date": "2031-01-01",
    }


def test_last_friday_of_the_month_through_the_gateway(http: httpx.Client) -> None:
    auth = account(http)
    r = http.post("/api/v1/reminders", json=rule_reminder("FREQ=MONTHLY;BYDAY=-1FR"), headers=auth)
    assert r.status_code == 201, r.text
    reminder = r.json()
    r = http.get(f"/api/v1/reminders/{reminder['id']}/occurrences", params={"limit": 3}, headers=auth)
    assert r.status_code == 200, r.text
    # 16:00 CET on the last Fridays of January to March 2031.
    assert r.json() == {"items": ["2031-01-31T15:00:00Z", "2031-02-28T15:00:00Z", "2031-03-28T15:00:00Z"]}
    assert r.json()["items"][0] == reminder["next_fire_at"].replace("+00:00", "Z")
    other = account(http)
    r = http.get(f"/api/v1/reminders/{reminder['id']}/occurrences", headers=other)
    assert r.status_code == 404, r.text


def test_a_sub_daily_rule_is_422_through_the_gateway(http: httpx.Client) -> None:
    r = http.post("/api/v1/reminders", json=rule_reminder("FREQ=HOURLY;INTERVAL=2"), headers=account(http))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["rrule"]


def test_trash_and_restore_through_the_gateway(http: httpx.Client) -> None:
    auth = account(http)
    reminder = http.post("/api/v1/reminders", json=rule_reminder("FREQ=WEEKLY;BYDAY=TU"), headers=auth).json()
    assert http.delete(f"/api/v1/reminders/{reminder['id']}", headers=auth).status_code == 204
    trash = http.get("/api/v1/reminders/trash", headers=auth)
    assert trash.status_code == 200, trash.text
    assert [r["id"] for r in trash.json()["items"]] == [reminder["id"]]
    r = http.post(f"/api/v1/reminders/{reminder['id']}/restore", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["next_fire_at"] == reminder["next_fire_at"] and r.json()["deleted_at"] is None
    assert http.get("/api/v1/reminders/trash", headers=auth).json()["items"] == []


def test_an_unsaved_rule_previewed_through_the_gateway(http: httpx.Client) -> None:
    auth = account(http)
    schedule = {
        k: v for k, v in rule_reminder("FREQ=MONTHLY;BYDAY=-1FR").items() if k not in ("title", "message")
    }
    r = http.post("/api/v1/reminders/occurrences", params={"limit": 3}, json=schedule, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json() == {"items": ["2031-01-31T15:00:00Z", "2031-02-28T15:00:00Z", "2031-03-28T15:00:00Z"]}
    assert http.get("/api/v1/reminders", headers=auth).json()["items"] == []  # nothing was saved
    r = http.post("/api/v1/reminders/occurrences", json={**schedule, "rrule": "FREQ=HOURLY"}, headers=auth)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["rrule"]
    assert http.post("/api/v1/reminders/occurrences", json=schedule).status_code == 401
