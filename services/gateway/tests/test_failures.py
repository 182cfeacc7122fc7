"""Upstream failures become problem+json 502/503/504 naming the service, within the timeouts;
``/ready`` reports each upstream."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from aiohttp import web
from gateway_support import BrokenUpstream, Upstreams

from daybook_devtools.embedded import free_port

HANG_GUARD = 15  # seconds: a test fails instead of hanging if the gateway ever does


def assert_problem(r: httpx.Response, status: int, service: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert body["service"] == service
    assert service in body["detail"]
    assert r.headers["x-request-id"]


@asynccontextmanager
async def broken(mode: str) -> AsyncIterator[BrokenUpstream]:
    server = BrokenUpstream(mode)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_refused_upstream_is_503(make_gateway: Any, auth: dict[str, str]) -> None:
    closed = free_port()  # nothing listens there
    async with make_gateway(GATEWAY_REMINDERS_URL=f"http://127.0.0.1:{closed}") as c:
        async with asyncio.timeout(HANG_GUARD):
            r = await c.get("/api/v1/reminders", headers=auth)
        assert_problem(r, 503, "reminders")
        async with asyncio.timeout(HANG_GUARD):
            r = await c.post("/api/v1/notifications/1/read", headers=auth)
        assert_problem(r, 503, "reminders")


async def test_slow_upstream_is_504_at_the_read_timeout(
    make_gateway: Any, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    async with make_gateway(GATEWAY_READ_TIMEOUT="0.3") as c:
        async with asyncio.timeout(HANG_GUARD):
            r = await c.get("/api/v1/journal/entries/slow", headers=auth)
        assert_problem(r, 504, "journal")
        assert upstreams.journal.paths() == ["/api/v1/journal/entries/slow"]  # it was reached, then abandoned


async def test_total_timeout_bounds_a_request(
    make_gateway: Any, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    async with make_gateway(GATEWAY_TIMEOUT="0.3") as c:
        async with asyncio.timeout(HANG_GUARD):
            r = await c.post("/api/v1/tasks/slow", headers=auth, content=b"{}")
        assert_problem(r, 504, "journal")


@pytest.mark.parametrize("mode", ["garbage", "truncated", "hangup"])
async def test_broken_upstream_is_502(make_gateway: Any, auth: dict[str, str], mode: str) -> None:
    async with broken(mode) as server, make_gateway(GATEWAY_USERS_URL=server.url) as c:
        async with asyncio.timeout(HANG_GUARD):
            r = await c.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "secret"})
        assert_problem(r, 502, "users")
        async with asyncio.timeout(HANG_GUARD):
            r = await c.get("/api/v1/users/me", headers=auth)
        assert_problem(r, 502, "users")
        assert server.connections >= 2


async def test_ready_lists_every_upstream(client: httpx.AsyncClient, upstreams: Upstreams) -> None:
    r = await client.get("/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert {name: v["status"] for name, v in body["upstreams"].items()} == {
        "users": "ready",
        "journal": "ready",
        "reminders": "ready",
    }

    upstreams.journal.ready_status = 503
    r = await client.get("/ready")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["not_ready"] == ["journal"]
    assert body["upstreams"]["journal"] == {"status": "not_ready", "http_status": 503}
    assert body["upstreams"]["users"]["status"] == "ready"


async def test_ready_names_a_down_upstream(make_gateway: Any) -> None:
    async with make_gateway(GATEWAY_USERS_URL=f"http://127.0.0.1:{free_port()}") as c:
        async with asyncio.timeout(HANG_GUARD):
            r = await c.get("/ready")
    assert r.status_code == 503
    assert r.json()["not_ready"] == ["users"]
    assert r.json()["upstreams"]["users"]["status"] == "unavailable"


async def test_unreachable_jwks_is_503_not_401(make_gateway: Any, auth: dict[str, str]) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    async with make_gateway(GATEWAY_JWKS_JSON="", GATEWAY_JWKS_URL=down + "/api/v1/auth/jwks") as c:
        r = await c.get("/api/v1/tasks", headers=auth)
        assert_problem(r, 503, "users")
        r = await c.get("/api/v1/tasks")
        assert r.status_code == 401  # no token at all is still the caller's problem
        r = await c.get("/ready")
        assert r.status_code == 503 and r.json()["signing_keys"] == "unavailable"


async def test_jwks_is_fetched_from_users_and_cached(
    make_gateway: Any, auth: dict[str, str], signer: Any
) -> None:
    calls: list[str] = []

    async def jwks(request: web.Request) -> web.Response:
        calls.append(request.path)
        return web.json_response(signer.jwks)

    app = web.Application()
    app.router.add_get("/api/v1/auth/jwks", jwks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with make_gateway(
            GATEWAY_JWKS_JSON="", GATEWAY_JWKS_URL=f"http://127.0.0.1:{port}/api/v1/auth/jwks"
        ) as c:
            for _ in range(3):
                r = await c.get("/api/v1/tasks", headers=auth)
                assert r.status_code == 200
    finally:
        await runner.cleanup()
    assert calls == ["/api/v1/auth/jwks"]  # fetched once at start, then cached


async def test_one_access_log_line_per_request_without_secrets(
    make_gateway: Any, auth: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    secret_body = b'{"password": "hunter2-very-secret"}'
    async with make_gateway(GATEWAY_LOG_LEVEL="INFO") as c:
        capsys.readouterr()
        r = await c.post(
            "/api/v1/journal/entries/abc?q=private",
            headers={**auth, "X-Request-ID": "log-1"},
            content=secret_body,
        )
        assert r.status_code == 200
        await c.get("/nope", headers={"X-Request-ID": "log-2"})
        c.gateway.access_log.flush()
        out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "daybook.access"]
    assert [line["request_id"] for line in access] == ["log-1", "log-2"]
    first = access[0]
    assert first["method"] == "POST"
    assert first["path"] == "/api/v1/journal"
    assert first["status"] == 200
    assert first["upstream"] == "journal"
    assert first["service"] == "gateway" and first["level"] == "info" and first["msg"] == "request"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["ts"])
    assert isinstance(first["duration_ms"], float)
    assert access[1]["path"] == "/nope" and access[1]["status"] == 404 and access[1]["upstream"] is None
    token = auth["Authorization"].split()[1]
    gateway_lines = "\n".join(
        line for line in out.splitlines() if '"logger": "httpx"' not in line
    )  # not the test client's
    for secret in (token, "hunter2", "Bearer", "private"):
        assert secret not in gateway_lines
