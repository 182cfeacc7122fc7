"""Bad input gets a clear 4xx problem+json, never a 500 (issue 12): every string field and
query parameter the users OpenAPI document lists (login ``email`` included, no token needed),
with NUL in it, is refused with a 422 naming the field; deep nesting, invalid UTF-8 and
non-JSON bodies are refused on every route."""

from __future__ import annotations

from typing import Any

from daybook_devtools.testing.hostile import NUL, assert_refuses_hostile_input


async def test_every_route_refuses_hostile_input(harness: Any) -> None:
    _, tokens = await harness.account()
    cases = await assert_refuses_hostile_input(harness.client, harness.bearer(tokens), min_cases=6)
    assert {"email", "password", "refresh_token", "full_name"} <= {c.field for c in cases}


async def test_login_with_nul_in_email_needs_no_token_and_is_a_422(harness: Any) -> None:
    r = await harness.client.post("/api/v1/auth/login", json={"email": NUL, "password": "x" * 10})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "email"


async def test_a_form_login_is_415_not_parsed(harness: Any) -> None:
    r = await harness.client.post(
        "/api/v1/auth/login",
        content=b"email=a%40b.c&password=secret123",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415, r.text
