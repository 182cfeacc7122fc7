"""The gateway as it runs in production — ``daybook-gateway serve`` under Granian — over real sockets,
in front of the stub upstreams: real peer addresses, real keep-alive, real streaming both ways."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from gateway_support import Servers, Upstreams, bin_path, servers, wait_ready

from daybook_devtools.embedded import free_port
from daybook_devtools.testing.tokens import TestSigner

MAX_BODY = 1_048_576


@pytest.fixture(scope="module")
async def gateway_url(
    upstreams: Upstreams, signer: TestSigner, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Servers]]:
    port = free_port()
    env = {
        **os.environ,
        **upstreams.env(),
        "GATEWAY_PORT": str(port),
        "GATEWAY_JWKS_JSON": signer.jwks_json,
        "GATEWAY_READ_TIMEOUT": "1",
        "GATEWAY_AUTH_RATE_LIMIT": "off",
        "PYTHONUNBUFFERED": "1",
    }
    with servers(tmp_path_factory.mktemp("granian")) as group:
        group.start("gateway", [bin_path("daybook-gateway"), "serve"], env, port)
        await group.wait()
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url + "/health")
        yield url, group


@pytest.fixture
async def http(gateway_url: tuple[str, Servers]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url[0], timeout=20) as c:
        yield c


async def test_real_server_routes_and_names_the_real_peer(
    http: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await http.get("/api/v1/journal/entries?limit=5", headers={**auth, "X-Forwarded-For": "6.6.6.6"})
    assert r.status_code == 200, r.text
    seen = upstreams.journal.seen[0]
    assert seen.path_qs == "/api/v1/journal/entries?limit=5"
    assert seen.headers["x-forwarded-for"] == "127.0.0.1"
    assert seen.headers["x-forwarded-proto"] == "http"
    assert seen.headers["x-request-id"] == r.headers["x-request-id"]
    assert r.headers.get_list("server") == ["granian"]  # one, the gateway's own (not the upstream's too)
    assert len(r.headers.get_list("date")) == 1


async def test_hop_by_hop_over_real_sockets(
    http: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await http.get(
        "/api/v1/tasks/hop",
        headers={
            **auth,
            "Connection": "keep-alive, X-Hop",
            "X-Hop": "1",
            "TE": "trailers",
            "Keep-Alive": "300",
        },
    )
    assert r.status_code == 200
    seen = upstreams.journal.seen[0].headers
    assert "x-hop" not in seen and "te" not in seen and "keep-alive" not in seen
    assert "keep-alive" not in r.headers and "proxy-authenticate" not in r.headers
    assert r.headers["x-kept"] == "yes"


async def test_large_response_is_streamed_intact(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    expected = b"".join(bytes([i]) * 65536 for i in range(48))
    async with http.stream("GET", "/api/v1/tasks/big", headers=auth) as r:
        assert r.status_code == 200
        assert "content-length" not in r.headers  # relayed as it came, chunk by chunk
        received = b"".join([chunk async for chunk in r.aiter_raw()])
    assert hashlib.sha256(received).digest() == hashlib.sha256(expected).digest()


async def test_large_upload_is_streamed_intact(
    http: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    body = os.urandom(MAX_BODY)
    r = await http.post("/api/v1/journal/entries", headers=auth, content=body)
    assert r.status_code == 200
    assert r.json()["body_sha"] == hashlib.sha256(body).hexdigest()
    assert upstreams.journal.seen[0].headers["content-length"] == str(MAX_BODY)


async def test_oversized_uploads_are_413(
    http: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    r = await http.post("/api/v1/journal/entries", headers=auth, content=b"z" * (MAX_BODY + 1))
    assert r.status_code == 413

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"q" * 65536

    r = await http.post("/api/v1/journal/entries", headers=auth, content=chunked())
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")
    assert upstreams.journal.seen == []


async def test_slow_upstream_is_504(http: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await http.get("/api/v1/reminders/slow", headers=auth)
    assert r.status_code == 504
    assert r.json()["service"] == "reminders"


async def test_keep_alive_pool_serves_many_requests(
    http: httpx.AsyncClient, upstreams: Upstreams, auth: dict[str, str]
) -> None:
    for i in range(60):
        r = await http.get(f"/api/v1/users/me?i={i}", headers=auth)
        assert r.status_code == 200
    assert len(upstreams.users.seen) == 60


async def test_access_log_lines_on_stdout(
    http: httpx.AsyncClient, gateway_url: tuple[str, Servers], auth: dict[str, str]
) -> None:
    r = await http.get("/api/v1/tasks", headers={**auth, "X-Request-ID": "e2e-log-1"})
    assert r.status_code == 200
    mine: list[dict[str, Any]] = []
    for _ in range(100):  # lines are written in batches, at most 50 ms apart
        lines = [
            json.loads(line) for line in gateway_url[1].log("gateway").splitlines() if line.startswith("{")
        ]
        mine = [
            line
            for line in lines
            if line.get("request_id") == "e2e-log-1" and line["logger"] == "daybook.access"
        ]
        if mine:
            break
        await asyncio.sleep(0.05)
    assert len(mine) == 1
    assert mine[0] | {"ts": "", "duration_ms": 0} == {
        "ts": "",
        "level": "info",
        "service": "gateway",
        "logger": "daybook.access",
        "msg": "request",
        "request_id": "e2e-log-1",
        "method": "GET",
        "path": "/api/v1/tasks",
        "status": 200,
        "upstream": "journal",
        "duration_ms": 0,
    }
    assert auth["Authorization"].split()[1] not in Path(gateway_url[1].log_dir / "gateway.log").read_text()


async def test_refusal_before_reading_a_large_body_is_readable(
    http: httpx.AsyncClient, upstreams: Upstreams
) -> None:
    # no token: refused before the body is read; the gateway drains it so the client sees the 401
    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(12):
            yield b"w" * 65536

    r = await http.post("/api/v1/journal/entries", content=chunked())
    assert r.status_code == 401
    r = await http.post("/api/v1/journal/entries", content=b"v" * (MAX_BODY - 1))
    assert r.status_code == 401
    assert upstreams.journal.seen == []
