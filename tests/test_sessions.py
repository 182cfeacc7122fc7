"""Sessions through the gateway: a revoked session's refresh token is refused at once and its
access token by every service within the deny-list delay (measured and printed here)."""

from __future__ import annotations

import time
import uuid

import httpx

PASSWORD = "correct horse battery staple"
READS = ("/api/v1/users/me", "/api/v1/journal/entries", "/api/v1/tasks", "/api/v1/reminders")


def _login(http: httpx.Client, email: str, agent: str) -> dict[str, str]:
    r = http.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers={"User-Agent": agent}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


Tokens = dict[str, str]


def _phone_and_laptop(http: httpx.Client, prefix: str) -> tuple[Tokens, Tokens, Tokens, Tokens]:
    """A new account logged in twice ("phone", then "laptop"): both logins' tokens and their
    Authorization headers; the phone's token already reads on every service."""
    email = f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    phone = _login(http, email, "phone")
    laptop = _login(http, email, "laptop")
    phone_auth = {"Authorization": f"Bearer {phone['access_token']}"}
    laptop_auth = {"Authorization": f"Bearer {laptop['access_token']}"}
    for path in READS:
        assert http.get(path, headers=phone_auth).status_code == 200, path
    return phone, laptop, phone_auth, laptop_auth


def _refused_everywhere(http: httpx.Client, auth: dict[str, str], started: float) -> float:
    """Wait until every service answers 401 to ``auth``; the delay since ``started`` (< 2 s)."""
    statuses: dict[str, int] = {}
    while time.monotonic() - started < 10:
        statuses = {path: http.get(path, headers=auth).status_code for path in READS}
        if set(statuses.values()) == {401}:
            break
        time.sleep(0.02)
    delay = time.monotonic() - started
    assert set(statuses.values()) == {401}, statuses
    assert delay < 2.0, f"the deny-list took {delay:.3f}s"
    return delay


def test_a_revoked_sessions_tokens_are_refused_everywhere(http: httpx.Client) -> None:
    phone, _, phone_auth, laptop_auth = _phone_and_laptop(http, "sessions")

    r = http.get("/api/v1/users/me/sessions", headers=laptop_auth)
    assert r.status_code == 200, r.text
    sessions = r.json()["items"]
    assert [(s["user_agent"], s["current"]) for s in sessions] == [("laptop", True), ("phone", False)]
    started = time.monotonic()
    assert (
        http.delete(f"/api/v1/users/me/sessions/{sessions[1]['id']}", headers=laptop_auth).status_code == 204
    )
    r = http.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert r.status_code == 401

    delay = _refused_everywhere(http, phone_auth, started)
    print(f"revoked session refused by every service after {delay:.3f}s")
    # The other session is untouched.
    for path in READS:
        assert http.get(path, headers=laptop_auth).status_code == 200, path
    kinds = [e["kind"] for e in http.get("/api/v1/users/me/activity", headers=laptop_auth).json()["items"]]
    assert kinds[:3] == ["session_revoked", "login", "login"]


def test_a_password_change_ends_the_other_sessions_everywhere(http: httpx.Client) -> None:
    phone, laptop, phone_auth, laptop_auth = _phone_and_laptop(http, "pwchange")

    started = time.monotonic()
    r = http.post(
        "/api/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=laptop_auth,
    )
    assert r.status_code == 204, r.text
    delay = _refused_everywhere(http, phone_auth, started)
    print(f"the other session refused by every service {delay:.3f}s after the password change")
    # The caller's own access token keeps working; every refresh token is revoked (API.md).
    for path in READS:
        assert http.get(path, headers=laptop_auth).status_code == 200, path
    for tokens in (phone, laptop):
        assert (
            http.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).status_code
            == 401
        )
