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
        "GATEWAY_BODY_TIMEOUT": "2",
        "GATEWAY_RATE_LIMITS": "off",
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
    # One, the gateway's own (not the upstream's too), naming no software (Granian's is replaced).
    assert r.headers.get_list("server") == ["daybook"]
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


async def _raw_exchange(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes (what no well-behaved client would send) and read the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(-1), 20)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


async def _logged(group: Servers, request_id: str, text: str) -> bool:
    for _ in range(100):
        if any(
            request_id in line and text in line
            for line in group.log("gateway").splitlines()
            if line.startswith("{")
        ):
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("label", "request_bytes", "status"),
    [
        (
            "malformed chunk size",
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/json\r\nX-Request-ID: framing-1\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            400,
        ),
        (
            "request target over the gateway's limit",
            b"GET /api/v1/tasks?q=" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\nX-Request-ID: framing-2\r\n"
            b"Connection: close\r\n\r\n",
            414,
        ),
        (
            "header section over the gateway's limit",
            b"GET /api/v1/tasks HTTP/1.1\r\nHost: x\r\nX-Request-ID: framing-3\r\nX-Big: "
            + b"a" * 40_000
            + b"\r\nConnection: close\r\n\r\n",
            431,
        ),
    ],
)
async def test_framing_errors_and_oversized_requests_are_problem_json(
    gateway_url: tuple[str, Servers], label: str, request_bytes: bytes, status: int
) -> None:
    url, group = gateway_url
    got, headers, body = await _raw_exchange(url, request_bytes)
    assert got == status, (label, got, body[:200])
    assert headers["content-type"] == "application/problem+json", label
    assert json.loads(body)["status"] == status, label
    request_id = headers["x-request-id"]
    assert request_id.startswith("framing-"), label
    assert headers.get("server") in (None, "daybook"), label
    assert await _logged(group, request_id, '"status": ' + str(status)), (
        f"{label}: not logged with its request id"
    )


async def test_a_body_not_sent_in_time_is_408_and_never_reaches_the_service(
    gateway_url: tuple[str, Servers], upstreams: Upstreams, auth: dict[str, str]
) -> None:
    """A client that sends 10 of its 50 declared bytes and stops: 408 problem+json after
    GATEWAY_BODY_TIMEOUT, the service never asked. The body used to be streamed to the service as
    it came: the client held a pooled upstream connection and the service's request while it
    trickled, and got 504 naming the service (measured: 1 byte / 2 s held one for 104 s)."""
    url, _ = gateway_url
    upstreams.journal.seen.clear()
    head = (
        "POST /api/v1/journal/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {auth['Authorization']}\r\nContent-Length: 50\r\n\r\n"
    )
    started = asyncio.get_running_loop().time()
    status, headers, body = await _raw_exchange(url, head.encode() + b'{"title": "')
    took = asyncio.get_running_loop().time() - started
    assert status == 408, body
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["status"] == 408
    assert took < 10, took
    assert upstreams.journal.seen == []


async def test_http11_request_without_a_host_or_with_two_is_400(gateway_url: tuple[str, Servers]) -> None:
    """RFC 9112 §3.2: the gateway answered both as if they were fine (and forwarded two Hosts)."""
    url, _ = gateway_url
    for request in (
        b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n",
    ):
        status, headers, body = await _raw_exchange(url, request)
        assert status == 400, (request, body)
        assert headers["content-type"].startswith("application/problem+json")
    status, _, _ = await _raw_exchange(url, b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 200
    status, _, _ = await _raw_exchange(url, b"GET /health HTTP/1.0\r\n\r\n")
    assert status == 200
