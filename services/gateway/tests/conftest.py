"""Fixtures for the gateway tests (helpers live in ``gateway_support.py`` beside this file)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from gateway_support import PEER, StubUpstream, Upstreams, lifespan

from daybook_devtools.testing.tokens import TestSigner
from daybook_gateway.app import create_app
from daybook_gateway.settings import Settings


@pytest.fixture(scope="module")
async def upstreams() -> AsyncIterator[Upstreams]:
    stubs = Upstreams(StubUpstream("users"), StubUpstream("journal"), StubUpstream("reminders"))
    for stub in stubs.all():
        await stub.start()
    try:
        yield stubs
    finally:
        for stub in stubs.all():
            await stub.stop()


GatewayFactory = Callable[..., Any]


@pytest.fixture(scope="module")
def gateway_env(upstreams: Upstreams, signer: TestSigner) -> dict[str, str]:
    return {
        **upstreams.env(),
        "GATEWAY_JWKS_JSON": signer.jwks_json,
        "GATEWAY_RATE_LIMITS": "off",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(scope="module")
def make_gateway(gateway_env: dict[str, str]) -> Callable[..., Any]:
    """``async with make_gateway(GATEWAY_X=...) as client``: an in-process gateway with these settings."""

    @asynccontextmanager
    async def make(peer: str = PEER, **overrides: str) -> AsyncIterator[httpx.AsyncClient]:
        settings = Settings.from_env({**gateway_env, **overrides})
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app, client=(peer, 50123))  # type: ignore[arg-type]
        async with lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            c.gateway = app  # type: ignore[attr-defined]
            yield c

    return make


@pytest.fixture(scope="module")
async def client(make_gateway: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with make_gateway() as c:
        yield c


@pytest.fixture(autouse=True)
def _clear_seen(request: pytest.FixtureRequest) -> None:
    if "upstreams" in request.fixturenames:
        request.getfixturevalue("upstreams").clear()


@pytest.fixture
def auth(signer: TestSigner) -> dict[str, str]:
    return signer.headers("018f3c4e-0000-7000-8000-000000000001")
