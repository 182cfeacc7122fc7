"""Bad input gets a clear 4xx problem+json, never a 500 (issue 12): every string field and
query parameter the reminders OpenAPI document lists, with NUL in it, is refused with a 422
naming the field; deep nesting, invalid UTF-8 and non-JSON bodies are refused on every route."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from daybook_devtools.testing.hostile import (
    NAIVE_INSTANT,
    OUT_OF_RANGE_INSTANTS,
    assert_refuses_hostile_input,
    forged_cursor,
)
from daybook_devtools.testing.tokens import TestSigner


async def test_every_route_refuses_hostile_input(client: AsyncTestClient, signer: TestSigner) -> None:
    cases = await assert_refuses_hostile_input(client, signer.headers(uuid.uuid4(), ttl=600), min_cases=3)
    assert {"title", "timezone"} <= {c.field for c in cases}


async def test_forged_cursors_are_a_422(client: AsyncTestClient, signer: TestSigner) -> None:
    """A cursor whose timestamp has no offset or is out of range in UTC is a bad cursor, never
    a 500 from PostgreSQL (cursors are not signed: any client can forge one)."""
    headers = signer.headers(uuid.uuid4(), ttl=600)
    some = str(uuid.uuid4())
    for path in ("/api/v1/notifications", "/api/v1/notifications?unread=true", "/api/v1/reminders/trash"):
        for instant in (NAIVE_INSTANT, *OUT_OF_RANGE_INSTANTS):
            r = await client.get(path, params={"cursor": forged_cursor(instant, some)}, headers=headers)
            assert r.status_code == 422, f"{path} {instant}: {r.status_code} {r.text[:200]}"
            assert r.json()["errors"] == [{"field": "cursor", "message": "invalid cursor"}], path
