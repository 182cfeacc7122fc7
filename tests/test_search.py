"""Full-text search (``q``) through the gateway: word prefixes, any case, any accents, any script."""

from __future__ import annotations

import uuid

import httpx
import pytest

ENTRIES, TASKS = "/api/v1/journal/entries", "/api/v1/tasks"


@pytest.fixture(scope="module")
def auth(http: httpx.Client) -> dict[str, str]:
    email, password = f"search-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery staple"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    r = http.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _create(http: httpx.Client, auth: dict[str, str], path: str, **body: str) -> str:
    r = http.post(path, json=body, headers=auth)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _found(http: httpx.Client, auth: dict[str, str], path: str, q: str) -> set[str]:
    r = http.get(path, params={"q": q, "limit": 100}, headers=auth)
    assert r.status_code == 200, r.text
    return {item["id"] for item in r.json()["items"]}


def test_entries_match_word_prefixes_ignoring_case_and_accents(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    day = "2026-03-01T09:00:00Z"
    seine = _create(http, auth, ENTRIES, content="Croissants by the Seine", entry_date=day)
    cafe = _create(http, auth, ENTRIES, title="Café Crème", content="Morning in Łódź", entry_date=day)
    russian = _create(http, auth, ENTRIES, content="Ёлка и ПРИВЕТ", entry_date=day)
    street = _create(http, auth, ENTRIES, title="Große Straße", content="ﬁne weather", entry_date=day)

    assert _found(http, auth, ENTRIES, "croissant") == {seine}  # a prefix of "Croissants"
    assert _found(http, auth, ENTRIES, "CROISS sei") == {seine}  # every word, any case
    assert _found(http, auth, ENTRIES, "cafe") == {cafe}  # "Café"
    assert _found(http, auth, ENTRIES, "CRÈME lodz") == {cafe}  # title and content, "Łódź"
    assert _found(http, auth, ENTRIES, "елк привет") == {russian}  # Cyrillic: case and "ё"
    assert _found(http, auth, ENTRIES, "strasse fine") == {street}  # "ß", the "ﬁ" ligature
    assert _found(http, auth, ENTRIES, "croissant -seine") == set()  # web-search syntax still works
    assert _found(http, auth, ENTRIES, "seine or cafe") == {seine, cafe}
    assert _found(http, auth, ENTRIES, '"by the"') == {seine}
    assert _found(http, auth, ENTRIES, "roissant") == set()  # prefixes, not substrings
    assert _found(http, auth, ENTRIES, "?!") == set()  # no word at all: nothing, not an error


def test_tasks_match_word_prefixes_ignoring_case_and_accents(
    http: httpx.Client, auth: dict[str, str]
) -> None:
    pastry = _create(http, auth, TASKS, title="Buy croissants", description="At the Pâtisserie")
    other = _create(http, auth, TASKS, title="Call Zoë")
    assert _found(http, auth, TASKS, "CROISSANT patis") == {pastry}
    assert _found(http, auth, TASKS, "zoe") == {other}
    code = _create(http, auth, TASKS, title="Ticket 7b155cfe-1a0e-40e0")  # a hyphenated word: a phrase
    assert _found(http, auth, TASKS, "7b155cfe-1a0e-40e0") == {code}
    assert _found(http, auth, TASKS, "7b155cfe-1a0") == {code}


def test_another_users_entries_are_not_searched(http: httpx.Client, auth: dict[str, str]) -> None:
    _create(http, auth, ENTRIES, content="Unmistakable zanzibarword", entry_date="2026-03-02T09:00:00Z")
    email, password = f"search-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery staple"
    assert http.post("/api/v1/auth/register", json={"email": email, "password": password}).status_code == 201
    token = http.post("/api/v1/auth/login", json={"email": email, "password": password}).json()[
        "access_token"
    ]
    assert _found(http, {"Authorization": f"Bearer {token}"}, ENTRIES, "zanzibar") == set()
