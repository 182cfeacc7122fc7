"""Two gateway processes (``daybook-gateway serve`` under Granian, one of them with two workers) in
front of the same stub users service share one failed-login budget through NATS."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_support import Upstreams, bin_path, servers, wait_ready

from daybook_devtools.embedded import free_port
from daybook_devtools.testing.tokens import TestSigner

LOGIN = "/api/v1/auth/login"
FAIL = {"X-Stub-Status": "401"}


@pytest.fixture(scope="module")
async def gateways(
    upstreams: Upstreams, signer: TestSigner, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[list[str]]:
    urls = []
    with servers(tmp_path_factory.mktemp("replicas")) as group:
        for name, workers in (("gateway-a", "2"), ("gateway-b", "1")):
            port = free_port()
            env = {
                **os.environ,
                **upstreams.env(),
                "GATEWAY_PORT": str(port),
                "GATEWAY_WORKERS": workers,
                "GATEWAY_JWKS_JSON": signer.jwks_json,
                "GATEWAY_NATS_URL": nats_url,
                "GATEWAY_RATE_LIMITS": "on",
                # A day-long window: the test never straddles a window boundary.
                "GATEWAY_RATE_LIMIT_LOGIN": "5/86400",
                "GATEWAY_LOG_LEVEL": "WARNING",
            }
            group.start(name, [bin_path("daybook-gateway"), "serve"], env, port)
            urls.append(f"http://127.0.0.1:{port}")
        await group.wait()
        for url in urls:
            await wait_ready(url + "/health")
        yield urls


async def _until_counting(client: httpx.AsyncClient) -> None:
    """Every worker connects to NATS in the background: wait until answers carry the budget."""
    for _ in range(100):
        r = await client.post(LOGIN, json={}, headers={"Connection": "close"})
        if "ratelimit-limit" in r.headers:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway never counted")


async def test_two_gateway_processes_share_one_budget(gateways: list[str], upstreams: Upstreams) -> None:
    a, b = (httpx.AsyncClient(base_url=url, timeout=10) for url in gateways)
    async with a, b:
        for client in (a, b):
            for _ in range(4):  # new connections, so each of a's workers gets its turn
                await _until_counting(client)
        upstreams.clear()
        remaining = []
        for client in (a, b, a, b, a):  # successful logins above did not count; these failures do
            r = await client.post(LOGIN, json={}, headers={**FAIL, "Connection": "close"})
            assert r.status_code == 401, r.text
            remaining.append(int(r.headers["ratelimit-remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        for client in (b, a, a):
            r = await client.post(LOGIN, json={}, headers={**FAIL, "Connection": "close"})
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) >= 1
        assert len(upstreams.users.seen) == 5  # the refused ones never reached the users service
