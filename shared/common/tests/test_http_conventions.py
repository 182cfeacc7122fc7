"""problem+json, request ids and keyset cursors, through a small Litestar app built like a service's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.testing import AsyncTestClient

from daybook_common.observability import RequestIdMiddleware
from daybook_common.pagination import Cursor, Limit, Page, decode_cursor, encode_cursor
from daybook_common.problems import exception_handlers
from daybook_common.service import wrap_outermost
from daybook_common.settings import Env, SettingsError

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=5)]


class ThingCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    size: int


@post("/things")
async def create_thing(data: ThingCreate) -> ThingCreate:
    return data


@get("/things")
async def list_things(limit: Limit = 20, cursor: Cursor = None) -> Page[int]:
    start = decode_cursor(cursor, (int,))[0] if cursor else 0
    items = list(range(start, min(start + limit, 45)))
    return Page(items=items, next_cursor=encode_cursor(items[-1] + 1) if items and items[-1] < 44 else None)


@get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[AsyncTestClient]:
    app = Litestar(
        [create_thing, list_things, boom], exception_handlers=exception_handlers, logging_config=None
    )
    wrap_outermost(app, RequestIdMiddleware, access_log=False)
    async with AsyncTestClient(app) as c:
        yield c


async def test_validation_errors_are_422_problems_naming_fields(client: AsyncTestClient) -> None:
    r = await client.post("/things", json={"name": "much too long", "size": 1})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 422 and body["title"] == "Unprocessable Entity"
    assert [e["field"] for e in body["errors"]] == ["name"]
    r = await client.post("/things", json={"name": "ok", "size": 1, "is_superuser": True})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "is_superuser"
    r = await client.post("/things", json={"name": "ok"})
    assert r.status_code == 422
    assert r.json()["errors"] == [{"field": "size", "message": "Object missing required field `size`"}]


async def test_unexpected_errors_are_500_without_internals(client: AsyncTestClient) -> None:
    r = await client.get("/boom")
    assert r.status_code == 500
    assert "hunter2" not in r.text and "RuntimeError" not in r.text
    assert r.json()["detail"] == "An unexpected error occurred"


async def test_request_id_is_echoed_or_made(client: AsyncTestClient) -> None:
    r = await client.get("/things", headers={"X-Request-ID": "req-42"})
    assert r.headers["x-request-id"] == "req-42"
    r = await client.get("/things", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces" and len(r.headers["x-request-id"]) == 32


async def test_keyset_pages_cover_everything_and_bad_cursor_is_422(client: AsyncTestClient) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/things", params=params)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(45))
    r = await client.get("/things", params={"cursor": "!!not-a-cursor"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor"
    for bad_limit in (0, 101):
        r = await client.get("/things", params={"limit": bad_limit})
        assert r.status_code == 422


def test_env_reads_with_prefix_and_rejects_garbage() -> None:
    env = Env("X_", {"X_PORT": "8080", "X_ON": "yes", "X_LIST": "a, b,,c", "X_BAD": "nope"})
    assert env.int("PORT", 1) == 8080 and env.bool("ON", False) is True
    assert env.list("LIST") == ["a", "b", "c"] and env.str("MISSING", "d") == "d"
    with pytest.raises(SettingsError, match="X_BAD"):
        env.int("BAD", 0)
