"""Live streams (``STREAM_PATHS``) through the gateway as it runs in production (Granian): relayed
event by event as they come, not cut by the ordinary read or total timeouts, cut after
``GATEWAY_STREAM_IDLE_TIMEOUT`` of silence, and closed upstream when the client leaves."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_support import Servers, Upstreams, bin_path, servers, wait_ready

from daybook_devtools.embedded import free_port
from daybook_devtools.testing.tokens import TestSigner

STREAM = "/api/v1/notifications/stream"


@pytest.fixture(scope="module")
async def gateway(
    upstreams: Upstreams, signer: TestSigner, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[str, Servers]]:
    port = free_port()
    env = {
        **os.environ,
        **upstreams.env(),
        "GATEWAY_PORT": str(port),
        "GATEWAY_JWKS_JSON": signer.jwks_json,
        "GATEWAY_READ_TIMEOUT": "0.5",
        "GATEWAY_TIMEOUT": "1",
        "GATEWAY_STREAM_IDLE_TIMEOUT": "1.5",
        "GATEWAY_RATE_LIMITS": "off",
    }
    with servers(tmp_path_factory.mktemp("granian-streams")) as group:
        group.start("gateway", [bin_path("daybook-gateway"), "serve"], env, port)
        await group.wait()
        url = f"http://127.0.0.1:{port}"
        await wait_ready(url + "/health")
        yield url, group


async def lines_with_times(response: httpx.Response) -> list[tuple[str, float]]:
    return [(line, time.monotonic()) async for line in response.aiter_lines() if line]


async def test_a_stream_outlives_the_read_and_total_timeouts_and_arrives_event_by_event(
    gateway: tuple[str, Servers], auth: dict[str, str]
) -> None:
    url, _ = gateway
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        started = time.monotonic()
        async with client.stream("GET", f"{STREAM}?beats=8&every=0.3", headers=auth) as r:
            assert r.status_code == 200
            assert r.headers["content-type"] == "text/event-stream"
            lines = await lines_with_times(r)
    assert [line for line, _ in lines] == [f": beat {i}" for i in range(8)] + ["id: 1", "data: {}"]
    # 2.4 s in all (longer than GATEWAY_TIMEOUT=1), each beat as it was sent: not buffered.
    assert lines[-1][1] - started > 2.0
    arrivals = [at - started for _, at in lines[:8]]
    assert all(later - earlier > 0.15 for earlier, later in itertools.pairwise(arrivals)), arrivals


async def test_a_silent_stream_is_cut_after_the_idle_timeout(
    gateway: tuple[str, Servers], auth: dict[str, str]
) -> None:
    url, _ = gateway
    seen: list[str] = []
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        with pytest.raises(httpx.HTTPError):
            async with client.stream("GET", f"{STREAM}?beats=1&idle=8", headers=auth) as r:
                assert r.status_code == 200
                async for line in r.aiter_lines():
                    seen.append(line)
    assert seen[:1] == [": beat 0"] and "data: {}" not in seen
    assert 1.0 < time.monotonic() - started < 6


async def test_the_upstream_stream_ends_when_the_client_leaves(
    gateway: tuple[str, Servers], upstreams: Upstreams, auth: dict[str, str]
) -> None:
    url, _ = gateway
    async with (
        httpx.AsyncClient(base_url=url, timeout=10) as client,
        client.stream("GET", f"{STREAM}?beats=200&every=0.2", headers=auth) as r,
    ):
        async for line in r.aiter_lines():
            if line:
                break
    left = asyncio.get_running_loop().time()
    deadline = left + 5
    while not upstreams.reminders.streams_dropped and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
    assert upstreams.reminders.streams_dropped, "the upstream stream went on after the client left"
    assert upstreams.reminders.streams_dropped[0] - left < 3
