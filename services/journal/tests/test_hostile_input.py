"""Bad input gets a clear 4xx problem+json, never a 500 (issue 12): every string field and
query parameter the journal's OpenAPI document lists, with NUL in it, is refused with a 422
naming the field; deep nesting, invalid UTF-8 and non-JSON bodies are refused on every route."""

from __future__ import annotations

import logging

import pytest
from litestar.testing import AsyncTestClient

from daybook_devtools.testing.hostile import NUL, assert_refuses_hostile_input
from daybook_journal.testing import User


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
