"""Body size limit (413), per-client rate limit on /api/v1/auth/* (429) and CORS."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from gateway_support import PEER, Upstreams

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


async def test_chunked_body_is_counted_while_streaming(
    make_gateway: Any, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    async def chunks(total: int) -> AsyncIterator[bytes]:
        for _ in range(total // 1000):
            yield b"y" * 1000

    async with make_gateway(GATEWAY_MAX_BODY_BYTES="10000") as c:
        r = await c.post("/api/v1/tasks", headers=auth, content=chunks(10_000))
        assert r.status_code == 200
        assert r.json()["body_length"] == 10_000
        assert "content-length" not in upstreams.journal.seen[0].headers  # streamed, not buffered
        upstreams.clear()
        r = await c.post("/api/v1/tasks", headers=auth, content=chunks(50_000))
        assert r.status_code == 413
        assert r.headers["content-type"].startswith("application/problem+json")
    assert upstreams.journal.seen == []  # the upstream never got a complete request


async def test_auth_paths_are_rate_limited_per_client(make_gateway: Any, upstreams: Upstreams) -> None:
    async with make_gateway(GATEWAY_AUTH_RATE_LIMIT="3/60", GATEWAY_TRUSTED_PROXIES=PEER) as c:
        for _ in range(3):
            r = await c.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"})
            assert r.status_code == 200
        r = await c.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"})
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(r.headers["retry-after"]) <= 20
        r = await c.get("/api/v1/auth/jwks")
        assert r.status_code == 429
        assert len(upstreams.users.seen) == 3

        # another client (behind the trusted proxy) has its own bucket
        r = await c.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": "203.0.113.50"})
        assert r.status_code == 200
        # other prefixes are not limited
        for _ in range(5):
            r = await c.get("/api/v1/users/me")
            assert r.status_code == 401


async def test_untrusted_peer_cannot_dodge_the_limit_with_x_forwarded_for(
    make_gateway: Any, upstreams: Upstreams
) -> None:
    async with make_gateway(GATEWAY_AUTH_RATE_LIMIT="2/60") as c:
        statuses = [
            (
                await c.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": f"203.0.113.{i}"})
            ).status_code
            for i in range(4)
        ]
    assert statuses == [200, 200, 429, 429]


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
