"""Bad input gets a clear 4xx problem+json, never a 500 (issue 12): every string field and
query parameter the reminders OpenAPI document lists, with NUL in it, is refused with a 422
naming the field; deep nesting, invalid UTF-8 and non-JSON bodies are refused on every route."""

from __future__ import annotations

import uuid

from litestar.testing import AsyncTestClient

from daybook_devtools.testing.hostile import assert_refuses_hostile_input
from daybook_devtools.testing.tokens import TestSigner


async def test_every_route_refuses_hostile_input(client: AsyncTestClient, signer: TestSigner) -> None:
    cases = await assert_refuses_hostile_input(client, signer.headers(uuid.uuid4(), ttl=600), min_cases=3)
    assert {"title", "timezone"} <= {c.field for c in cases}
