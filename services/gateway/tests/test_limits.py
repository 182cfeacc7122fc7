"""Body size limit (413), the shared per-route rate limits (429, RateLimit-*) and CORS."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gateway_support import Upstreams

from daybook_devtools.embedded import EmbeddedNats, free_port

LIMIT = 1_048_576


async def test_declared_body_over_the_limit_is_413_before_upstream(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await client.post("/api/v1/journal/entries", headers=auth, content=b"x" * (LIMIT + 1))
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 413
    # public paths are limited too
    r = await client.post("/api/v1/auth/register", content=b"x" * (LIMIT + 1))
    assert r.status_code == 413
    assert all(stub.seen == [] for stub in upstreams.all())


async def test_body_at_the_limit_is_streamed_through_intact(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    body = bytes(range(256)) * (LIMIT // 256)
    assert len(body) == LIMIT
    r = await client.post("/api/v1/journal/entries", headers=auth, content=body)
    assert r.status_code == 200
    assert r.json()["body_length"] == LIMIT
    assert r.json()["body_sha"] == hashlib.sha256(body).hexdigest()
    assert upstreams.journal.seen[0].headers["content-length"] == str(LIMIT)


async def test_chunked_body_is_counted_while_read(
    make_gateway: Any, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    async def chunks(total: int) -> AsyncIterator[bytes]:
        for _ in range(total // 1000):
            yield b"y" * 1000

    async with make_gateway(GATEWAY_MAX_BODY_BYTES="10000") as c:
        r = await c.post("/api/v1/tasks", headers=auth, content=chunks(10_000))
        assert r.status_code == 200
        assert r.json()["body_length"] == 10_000
        # read whole before the service is asked (GATEWAY_BODY_TIMEOUT), then sent with its length
        assert upstreams.journal.seen[0].headers["content-length"] == "10000"
        upstreams.clear()
        r = await c.post("/api/v1/tasks", headers=auth, content=chunks(50_000))
        assert r.status_code == 413
        assert r.headers["content-type"].startswith("application/problem+json")
    assert upstreams.journal.seen == []  # the upstream never got a complete request


def fresh_address() -> str:
    """A client address no other test used: counters live in the session's NATS for a window."""
    return str(ipaddress.IPv4Address(random.randrange(0x0A000001, 0x0AFFFFFE)))


async def connected(c: httpx.AsyncClient) -> httpx.AsyncClient:
    """Wait until the gateway's counters reach NATS (it connects in the background)."""
    for _ in range(100):
        if c.gateway.limiter.counters.connected:  # type: ignore[attr-defined]
            return c
        await asyncio.sleep(0.05)
    raise AssertionError("the gateway did not connect to NATS")


FAIL = {"X-Stub-Status": "401"}  # the stub users service answers this login with 401
LOGIN, REGISTER = "/api/v1/auth/login", "/api/v1/auth/register"
# Long windows: a test never straddles a window boundary (fixed windows start at multiples of it).
LIMITS = {"GATEWAY_RATE_LIMITS": "on", "GATEWAY_RATE_LIMIT_LOGIN": "3/86400"}


def ratelimit(r: httpx.Response) -> tuple[str, str]:
    assert 1 <= int(r.headers["ratelimit-reset"]) <= 86400
    return r.headers["ratelimit-limit"], r.headers["ratelimit-remaining"]


async def test_failed_logins_share_one_budget_across_gateways(
    make_gateway: Any, upstreams: Upstreams, nats_url: str
) -> None:
    peer = fresh_address()
    env = {**LIMITS, "GATEWAY_NATS_URL": nats_url}
    async with make_gateway(peer=peer, **env) as a, make_gateway(peer=peer, **env) as b:
        await connected(a), await connected(b)
        statuses, budgets = [], []
        for c in (a, b, a):
            r = await c.post(LOGIN, json={"email": "a@b.c", "password": "x"}, headers=FAIL)
            statuses.append(r.status_code)
            budgets.append(ratelimit(r))
        assert statuses == [401, 401, 401]
        assert budgets == [("3", "2"), ("3", "1"), ("3", "0")]
        for c in (b, a):  # the fourth, on either replica, is refused before the users service
            r = await c.post(LOGIN, json={"email": "a@b.c", "password": "x"}, headers=FAIL)
            assert r.status_code == 429
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["status"] == 429
            assert ratelimit(r) == ("3", "0")
            assert r.headers["retry-after"] == r.headers["ratelimit-reset"]
        assert len(upstreams.users.seen) == 3

        # refresh and logout are never limited, even for this client
        for path in ("/api/v1/auth/refresh", "/api/v1/auth/logout"):
            r = await a.post(path, json={"refresh_token": "t"})
            assert r.status_code == 200 and "ratelimit-limit" not in r.headers
        # the other routes neither
        assert (await b.get("/api/v1/auth/jwks")).status_code == 200

    async with make_gateway(peer=fresh_address(), **env) as other:  # another client: its own budget
        await connected(other)
        r = await other.post(LOGIN, json={}, headers=FAIL)
        assert r.status_code == 401 and ratelimit(r) == ("3", "2")


async def test_successful_logins_never_count(make_gateway: Any, upstreams: Upstreams, nats_url: str) -> None:
    async with make_gateway(peer=fresh_address(), **LIMITS, GATEWAY_NATS_URL=nats_url) as c:
        await connected(c)
        for _ in range(6):
            r = await c.post(LOGIN, json={"email": "a@b.c", "password": "right"})
            assert r.status_code == 200 and ratelimit(r) == ("3", "3")
        r = await c.post(LOGIN, json={}, headers=FAIL)
        assert r.status_code == 401 and ratelimit(r) == ("3", "2")


async def test_every_registration_and_reset_request_counts(
    make_gateway: Any, upstreams: Upstreams, nats_url: str
) -> None:
    limits = {
        "GATEWAY_RATE_LIMITS": "on",
        "GATEWAY_RATE_LIMIT_REGISTER": "2/86400",
        "GATEWAY_RATE_LIMIT_PASSWORD_RESET": "1/86400",
    }
    async with make_gateway(peer=fresh_address(), GATEWAY_NATS_URL=nats_url, **limits) as c:
        await connected(c)
        statuses = [(await c.post(REGISTER, json={})).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        statuses = [(await c.post("/api/v1/auth/password-reset", json={})).status_code for _ in range(2)]
        assert statuses == [200, 429]
        assert len(upstreams.users.seen) == 3


async def test_failed_mailed_tokens_count_and_good_ones_do_not(
    make_gateway: Any, upstreams: Upstreams, nats_url: str
) -> None:
    limits = {
        "GATEWAY_RATE_LIMITS": "on",
        "GATEWAY_RATE_LIMIT_PASSWORD_RESET_CONFIRM": "2/86400",
        "GATEWAY_RATE_LIMIT_VERIFY_EMAIL": "2/86400",
    }
    async with make_gateway(peer=fresh_address(), GATEWAY_NATS_URL=nats_url, **limits) as c:
        await connected(c)
        for path in ("/api/v1/auth/password-reset/confirm", "/api/v1/auth/verify-email"):
            good = await c.post(path, json={"token": "t"}, headers={"X-Stub-Status": "204"})
            assert good.status_code == 204 and ratelimit(good) == ("2", "2")
            bad = [
                (await c.post(path, json={"token": "t"}, headers={"X-Stub-Status": "400"})).status_code
                for _ in range(3)
            ]
            assert bad == [400, 400, 429], path
        assert len(upstreams.users.seen) == 6  # the refused ones never reached the users service


async def test_untrusted_peer_cannot_dodge_the_limit_with_x_forwarded_for(
    make_gateway: Any, upstreams: Upstreams, nats_url: str
) -> None:
    async with make_gateway(
        peer=fresh_address(),
        GATEWAY_RATE_LIMITS="on",
        GATEWAY_RATE_LIMIT_REGISTER="2/86400",
        GATEWAY_NATS_URL=nats_url,
    ) as c:
        await connected(c)
        statuses = [
            (await c.post(REGISTER, json={}, headers={"X-Forwarded-For": f"203.0.113.{i}"})).status_code
            for i in range(4)
        ]
    assert statuses == [200, 200, 429, 429]


async def test_behind_a_trusted_proxy_each_client_has_its_own_budget(
    make_gateway: Any, upstreams: Upstreams, nats_url: str
) -> None:
    proxy = fresh_address()
    async with make_gateway(
        peer=proxy,
        GATEWAY_RATE_LIMITS="on",
        GATEWAY_TRUSTED_PROXIES=proxy,
        GATEWAY_RATE_LIMIT_REGISTER="1/86400",
        GATEWAY_NATS_URL=nats_url,
    ) as c:
        await connected(c)
        first, second = fresh_address(), fresh_address()
        statuses = [
            (await c.post(REGISTER, json={}, headers={"X-Forwarded-For": client})).status_code
            for client in (first, second, first)
        ]
    assert statuses == [200, 200, 429]


async def test_without_nats_the_limits_fail_open_and_say_so(
    make_gateway: Any, upstreams: Upstreams, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = f"nats://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.WARNING, logger="daybook.gateway.limits"):
        async with make_gateway(
            **LIMITS, GATEWAY_RATE_LIMIT_REGISTER="1/86400", GATEWAY_NATS_URL=nowhere
        ) as c:
            for _ in range(5):
                r = await c.post(LOGIN, json={}, headers=FAIL)
                assert r.status_code == 401 and "ratelimit-limit" not in r.headers
            assert [(await c.post(REGISTER, json={})).status_code for _ in range(3)] == [200] * 3
    warnings = [r for r in caplog.records if "rate limits not enforced" in r.getMessage()]
    assert len(warnings) == 1  # one line a minute, not one per request


CORS = {"GATEWAY_CORS_ORIGINS": "https://app.example, http://localhost:5173"}


async def test_cors_preflight_is_answered_at_the_edge(make_gateway: Any, upstreams: Upstreams) -> None:
    async with make_gateway(**CORS) as c:
        r = await c.options(
            "/api/v1/journal/entries",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "authorization, content-type, if-match",
            },
        )
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "PATCH" in r.headers["access-control-allow-methods"]
        allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "if-match", "idempotency-key"} <= allowed
        assert int(r.headers["access-control-max-age"]) > 0
        assert "Origin" in r.headers["vary"]

        r = await c.options(
            "/api/v1/auth/login",
            headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
        )
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == "http://localhost:5173"

        r = await c.options(
            "/api/v1/journal/entries",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert r.status_code == 403
        assert "access-control-allow-origin" not in r.headers
    assert all(stub.seen == [] for stub in upstreams.all())


async def test_cors_headers_on_actual_responses(
    make_gateway: Any, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    async with make_gateway(**CORS) as c:
        r = await c.get("/api/v1/tasks", headers={**auth, "Origin": "https://app.example"})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-request-id" in r.headers["access-control-expose-headers"].lower()
        # refusals are readable by the frontend too
        r = await c.get("/api/v1/tasks", headers={"Origin": "https://app.example"})
        assert r.status_code == 401
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = await c.get("/health", headers={"Origin": "https://app.example"})
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        # other origins get no grant
        r = await c.get("/api/v1/tasks", headers={**auth, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


async def test_without_configured_origins_there_is_no_cors(
    client: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await client.get("/api/v1/tasks", headers={**auth, "Origin": "https://app.example"})
    assert "access-control-allow-origin" not in r.headers


async def test_limits_resume_after_nats_restarts(
    make_gateway: Any, upstreams: Upstreams, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Fail open while NATS is down, count again once it is back (the stream is on disk: counts survive)."""
    server = EmbeddedNats(tmp_path_factory.mktemp("nats-restart") / "store", free_port())
    server.start()
    try:
        env = {**LIMITS, "GATEWAY_RATE_LIMIT_LOGIN": "2/86400", "GATEWAY_NATS_URL": server.url}
        async with make_gateway(peer=fresh_address(), **env) as c:
            await connected(c)
            r = await c.post(LOGIN, json={}, headers=FAIL)
            assert ratelimit(r) == ("2", "1")
            server.stop()
            r = await c.post(LOGIN, json={}, headers=FAIL)
            assert r.status_code == 401 and "ratelimit-limit" not in r.headers  # open, not down
            server.start()
            counted = []
            for _ in range(100):  # the first request after the loss starts reconnecting
                r = await c.post(LOGIN, json={}, headers=FAIL)
                if "ratelimit-limit" in r.headers:
                    counted.append((r.status_code, r.headers["ratelimit-remaining"]))
                if r.status_code == 429:
                    break
                await asyncio.sleep(0.05)
            # The failure before the outage still counts: one more, then refused.
            assert counted == [(401, "0"), (429, "0")], counted
    finally:
        server.stop()
