"""Entry revisions through the gateway (the full behaviour: services/journal/tests/test_revisions.py)."""

from __future__ import annotations

import uuid

import httpx

PASSWORD = "correct horse battery staple"
ENTRIES = "/api/v1/journal/entries"


def _account(http: httpx.Client) -> dict[str, str]:
    email = f"history-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_an_entry_keeps_its_earlier_versions_and_restores_one(http: httpx.Client) -> None:
    alice, bob = _account(http), _account(http)
    r = http.post(
        ENTRIES, json={"title": "draft", "content": "v1", "entry_date": "2026-01-22T10:00:00Z"}, headers=alice
    )
    assert r.status_code == 201, r.text
    entry = r.json()["id"]
    r = http.patch(f"{ENTRIES}/{entry}", json={"title": "final", "content": "v2"}, headers=alice)
    assert r.status_code == 200, r.text

    r = http.get(f"{ENTRIES}/{entry}/revisions", headers=alice)
    assert r.status_code == 200, r.text
    (revision,) = r.json()["items"]
    assert (revision["revision"], revision["title"], revision["content"]) == (1, "draft", "v1")
    assert http.get(f"{ENTRIES}/{entry}/revisions", headers=bob).status_code == 404

    restore = f"{ENTRIES}/{entry}/revisions/1/restore"
    assert http.post(restore, headers={**alice, "If-Match": '"1"'}).status_code == 412
    r = http.post(restore, headers={**alice, "If-Match": '"2"'})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["content"], r.headers["ETag"]) == ("draft", "v1", '"3"')
    items = http.get(f"{ENTRIES}/{entry}/revisions", headers=alice).json()["items"]
    assert [(i["revision"], i["content"]) for i in items] == [(2, "v2"), (1, "v1")]
