"""A user's first minutes, across users, journal and reminders, through the gateway only.

The token the users service signs must be accepted by the other services (JWKS), and one
user's data must be invisible to another.
"""

from __future__ import annotations

import uuid

import httpx
import pytest


def _account(http: httpx.Client) -> dict[str, str]:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery staple"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": password, "full_name": "E2E"})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"email": email, "Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def alice(http: httpx.Client) -> dict[str, str]:
    return _account(http)


@pytest.fixture(scope="module")
def bob(http: httpx.Client) -> dict[str, str]:
    return _account(http)


def _auth(account: dict[str, str]) -> dict[str, str]:
    return {"Authorization": account["Authorization"]}


def test_me(http: httpx.Client, alice: dict[str, str]) -> None:
    r = http.get("/api/v1/users/me", headers=_auth(alice))
    assert r.status_code == 200, r.text
    assert r.json()["email"] == alice["email"]
    assert "hashed_password" not in r.json()


def test_without_a_token_every_service_says_401(http: httpx.Client) -> None:
    for path in ("/api/v1/users/me", "/api/v1/journal/entries", "/api/v1/tasks", "/api/v1/reminders"):
        r = http.get(path)
        assert r.status_code == 401, (path, r.text)
        assert r.headers["www-authenticate"].lower().startswith("bearer"), path


def test_journal_entry_round_trip_and_isolation(
    http: httpx.Client, alice: dict[str, str], bob: dict[str, str]
) -> None:
    r = http.post(
        "/api/v1/journal/entries",
        json={"title": "First", "content": "Hello from the e2e test", "entry_date": "2026-01-22T10:00:00Z"},
        headers=_auth(alice),
    )
    assert r.status_code == 201, r.text
    entry = r.json()
    r = http.get(f"/api/v1/journal/entries/{entry['id']}", headers=_auth(alice))
    assert r.status_code == 200, r.text
    assert r.json()["content"] == "Hello from the e2e test"
    r = http.get(f"/api/v1/journal/entries/{entry['id']}", headers=_auth(bob))
    assert r.status_code == 404, r.text
    r = http.get("/api/v1/journal/entries", headers=_auth(bob))
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []


def test_reminder_is_created_with_a_next_fire_time(http: httpx.Client, alice: dict[str, str]) -> None:
    r = http.post(
        "/api/v1/reminders",
        json={
            "title": "Stretch",
            "message": "Stand up",
            "frequency": "daily",
            "time": "09:30",
            "timezone": "Europe/Berlin",
        },
        headers=_auth(alice),
    )
    assert r.status_code == 201, r.text
    assert r.json()["next_fire_at"]
    r = http.get("/api/v1/reminders", headers=_auth(alice))
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 1


def test_goal_tree_through_the_gateway(
    http: httpx.Client, alice: dict[str, str], bob: dict[str, str]
) -> None:
    r = http.post("/api/v1/goals", json={"title": "Learn the cello"}, headers=_auth(alice))
    assert r.status_code == 201, r.text
    root = r.json()
    r = http.post("/api/v1/goals", json={"title": "Scales", "parent_id": root["id"]}, headers=_auth(alice))
    assert r.status_code == 201, r.text
    r = http.get(f"/api/v1/goals/{root['id']}/tree", headers=_auth(alice))
    assert r.status_code == 200 and [c["title"] for c in r.json()["children"]] == ["Scales"]
    assert http.get(f"/api/v1/goals/{root['id']}/tree", headers=_auth(bob)).status_code == 404
