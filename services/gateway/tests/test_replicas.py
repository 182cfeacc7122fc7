"""Several replicas per service: round-robin, passive ejection of a failing replica, and retries
on another replica only for requests that are safe to send twice.

The replicas are real servers: echoing stubs, a closed port (connection refused) and a raw server
that reads the request and hangs up (it may have acted on it, so only safe requests are retried).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from gateway_support import BrokenUpstream, StubUpstream

from daybook_devtools.embedded import free_port
from daybook_gateway.settings import Settings

HANG_GUARD = 15


@asynccontextmanager
async def stubs(count: int) -> AsyncIterator[list[StubUpstream]]:
    started = [StubUpstream("journal") for _ in range(count)]
    for stub in started:
        await stub.start()
    try:
        yield started
    finally:
        for stub in started:
            await stub.stop()


@asynccontextmanager
async def hangup() -> AsyncIterator[BrokenUpstream]:
    server = BrokenUpstream("hangup")
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def test_comma_separated_urls_are_replicas() -> None:
    s = Settings.from_env({"GATEWAY_JOURNAL_URL": "http://a:8002/, http://b:8002,http://a:8002"})
    assert s.journal_urls == ("http://a:8002", "http://b:8002")
    assert s.users_urls == ("http://127.0.0.1:8001",)
    assert s.eject_seconds == 10.0
    assert Settings.from_env({"GATEWAY_UPSTREAM_EJECT_SECONDS": "2.5"}).eject_seconds == 2.5


async def test_requests_take_the_replicas_in_turn(make_gateway: Any, auth: dict[str, str]) -> None:
    async with stubs(3) as replicas:
        urls = ",".join(r.url for r in replicas)
        async with make_gateway(GATEWAY_JOURNAL_URL=urls) as c:
            for i in range(9):
                r = await c.get(f"/api/v1/journal/entries/{i}", headers=auth)
                assert r.status_code == 200, r.text
        assert [len(r.seen) for r in replicas] == [3, 3, 3]


async def test_a_refused_replica_is_skipped_for_every_method(make_gateway: Any, auth: dict[str, str]) -> None:
    """Connection refused: the request never arrived, so even an unkeyed POST goes to the next one."""
    closed = f"http://127.0.0.1:{free_port()}"
    async with stubs(1) as (alive,):
        async with make_gateway(GATEWAY_JOURNAL_URL=f"{closed},{alive.url}") as c:
            async with asyncio.timeout(HANG_GUARD):
                for i in range(4):
                    r = await c.post("/api/v1/journal/entries", headers=auth, json={"n": i})
                    assert r.status_code == 200, r.text
                    r = await c.get("/api/v1/journal/entries", headers=auth)
                    assert r.status_code == 200, r.text
        assert [s.method for s in alive.seen] == ["POST", "GET"] * 4


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_an_idempotent_request_is_retried_after_a_hangup(
    make_gateway: Any, auth: dict[str, str], method: str
) -> None:
    async with hangup() as broken, stubs(1) as (alive,):
        async with make_gateway(GATEWAY_JOURNAL_URL=f"{broken.url},{alive.url}") as c:
            async with asyncio.timeout(HANG_GUARD):
                r = await c.request(method, "/api/v1/journal/entries/1", headers=auth, content=b"{}")
        assert r.status_code == 200, r.text
        # aiohttp itself may try an idempotent request twice on the same replica first
        assert broken.connections in {1, 2} and [s.method for s in alive.seen] == [method]


async def test_a_keyed_post_is_retried_an_unkeyed_one_is_not(make_gateway: Any, auth: dict[str, str]) -> None:
    """The hung-up replica may have created the entry: only a POST the service answers at most
    once (Idempotency-Key) may be sent again; any other becomes the usual 502."""
    async with hangup() as broken, stubs(1) as (alive,):
        # A long ejection would send the second POST straight to the good replica: keep it short.
        env = {"GATEWAY_JOURNAL_URL": f"{broken.url},{alive.url}", "GATEWAY_UPSTREAM_EJECT_SECONDS": "0.001"}
        async with make_gateway(**env) as c:
            async with asyncio.timeout(HANG_GUARD):
                r = await c.post(
                    "/api/v1/journal/entries", headers={**auth, "Idempotency-Key": "k-1"}, content=b"{}"
                )
                assert r.status_code == 200, r.text
                assert alive.seen[-1].headers["Idempotency-Key"] == "k-1"
                await asyncio.sleep(0.01)
                r = await c.post("/api/v1/journal/entries", headers=auth, content=b"{}")
        assert r.status_code == 502, r.text
        assert r.json()["service"] == "journal"
        assert broken.connections == 2 and len(alive.seen) == 1


async def test_a_failed_replica_is_ejected_for_a_while(make_gateway: Any, auth: dict[str, str]) -> None:
    async with hangup() as broken, stubs(1) as (alive,):
        env = {"GATEWAY_JOURNAL_URL": f"{broken.url},{alive.url}", "GATEWAY_UPSTREAM_EJECT_SECONDS": "0.5"}
        async with make_gateway(**env) as c:
            async with asyncio.timeout(HANG_GUARD):
                for _ in range(6):
                    assert (await c.get("/api/v1/journal/entries", headers=auth)).status_code == 200
                failed_once = broken.connections
                assert failed_once in {1, 2}  # aiohttp may try an idempotent request twice itself
                for _ in range(6):
                    assert (await c.get("/api/v1/journal/entries", headers=auth)).status_code == 200
                assert broken.connections == failed_once  # left out of the turn since
                await asyncio.sleep(0.6)
                for _ in range(2):
                    assert (await c.get("/api/v1/journal/entries", headers=auth)).status_code == 200
        assert broken.connections > failed_once  # back in the turn after the ejection, failed again
        assert len(alive.seen) == 14


async def test_every_replica_down_is_503(make_gateway: Any, auth: dict[str, str]) -> None:
    down = ",".join(f"http://127.0.0.1:{free_port()}" for _ in range(2))
    async with make_gateway(GATEWAY_JOURNAL_URL=down) as c:
        async with asyncio.timeout(HANG_GUARD):
            for _ in range(3):
                r = await c.get("/api/v1/journal/entries", headers=auth)
                assert r.status_code == 503 and r.json()["service"] == "journal"


async def test_ready_needs_one_ready_replica_and_lists_them(make_gateway: Any) -> None:
    async with (
        stubs(2) as (first, second),
        make_gateway(GATEWAY_JOURNAL_URL=f"{first.url},{second.url}") as c,
    ):
        first.ready_status = 503
        r = await c.get("/ready")
        assert r.status_code == 200, r.text
        assert r.json()["upstreams"]["journal"] == {"status": "ready", "replicas": ["not_ready", "ready"]}
        second.ready_status = 503
        r = await c.get("/ready")
        assert r.status_code == 503
        assert r.json()["not_ready"] == ["journal"]
        assert r.json()["upstreams"]["journal"]["replicas"] == ["not_ready", "not_ready"]


async def test_signing_keys_come_from_any_users_replica(
    make_gateway: Any, auth: dict[str, str], signer: Any
) -> None:
    """The first users replica is down: the keys come from the next one, tokens are verified."""
    from aiohttp import web

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(signer.jwks)

    app = web.Application()
    app.router.add_get("/api/v1/auth/jwks", jwks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    users = f"http://127.0.0.1:{free_port()},http://127.0.0.1:{port}"
    assert Settings.from_env({"GATEWAY_USERS_URL": users}).jwks_urls == tuple(
        f"{u}/api/v1/auth/jwks" for u in users.split(",")
    )
    try:
        async with make_gateway(GATEWAY_JWKS_JSON="", GATEWAY_USERS_URL=users) as c:
            async with asyncio.timeout(HANG_GUARD):
                r = await c.get("/api/v1/tasks", headers=auth)
            assert r.status_code == 200, r.text
            assert (await c.get("/ready")).json()["signing_keys"] == "loaded"
    finally:
        await runner.cleanup()
