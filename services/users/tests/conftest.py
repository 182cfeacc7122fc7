"""Fixtures for the users service: an app over a freshly migrated database, HTTP helpers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from daybook_common.auth import TokenVerifier, static_jwks_loader
from daybook_devtools.testing.databases import TestDatabase
from daybook_users import SCHEMA, SCRIPT_LOCATION
from daybook_users.app import create_app
from daybook_users.settings import Settings

PASSWORD = "correct horse battery"


def users_env(db: TestDatabase, key_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "USERS_DATABASE_URL": db.url(SCHEMA),
        "USERS_SIGNING_KEY_FILE": str(key_dir / "signing-key.pem"),
        "USERS_MAINTENANCE_INTERVAL_SECONDS": "0",
        "USERS_ACCESS_LOG": "false",
        "USERS_DB_POOL_SIZE": "5",
        "USERS_EVENTS_ENABLED": "false",  # no NATS here: the outbox rows are checked in the database
        "USERS_MAIL_DIR": str(key_dir / "mail"),  # the .eml files the mail worker writes
        "USERS_MAIL_POLL_SECONDS": "0.2",
    }
    env.update(extra)
    return env


class PeerOverride:
    """Sets the direct peer address the app sees (the test client always reports "testclient").

    A test sets ``.host`` to pretend the request came from, say, the gateway on 127.0.0.1.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.host: str | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.host is not None and scope["type"] == "http":
            scope["client"] = (self.host, 50_000)
        await self.app(scope, receive, send)


def with_peer_override(app: Litestar) -> PeerOverride:
    override = PeerOverride(app.asgi_handler)
    app.asgi_handler = override
    return override


@dataclass
class Harness:
    client: AsyncTestClient[Litestar]
    app: Litestar
    db: TestDatabase
    settings: Settings
    peer: PeerOverride

    @property
    def jwks(self) -> dict[str, Any]:
        return dict(self.app.state["users_runtime"].keys.jwks())

    def verifier(self) -> TokenVerifier:
        auth = self.settings.common.auth
        return TokenVerifier(auth.issuer, auth.audience, static_jwks_loader(self.jwks))

    password: str = PASSWORD

    @staticmethod
    def unique_email(prefix: str = "user") -> str:
        return unique_email(prefix)

    @staticmethod
    def bearer(tokens: dict[str, Any] | str) -> dict[str, str]:
        token = tokens if isinstance(tokens, str) else tokens["access_token"]
        return {"Authorization": f"Bearer {token}"}

    async def register(
        self, email: str | None = None, password: str = PASSWORD, **extra: Any
    ) -> dict[str, Any]:
        email = email or unique_email()
        r = await self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, **extra}
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        r = await self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def account(self, password: str = PASSWORD) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new account and a fresh token pair for it."""
        user = await self.register(password=password)
        return user, await self.login(user["email"], password)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def migrated(fresh_database: TestDatabase) -> TestDatabase:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    return fresh_database


@pytest.fixture(scope="module")
def make_harness(migrated: TestDatabase, key_dir: Path) -> Callable[..., Any]:
    """Build another app over the module's database (``make_harness(USERS_X="..")``)."""

    def make(**extra: str) -> tuple[Litestar, Settings, PeerOverride]:
        settings = Settings.from_env(users_env(migrated, key_dir, **extra))
        app = create_app(settings)
        return app, settings, with_peer_override(app)

    return make


@pytest.fixture(scope="module")
async def harness(migrated: TestDatabase, make_harness: Callable[..., Any]) -> AsyncIterator[Harness]:
    app, settings, peer = make_harness()
    async with AsyncTestClient(app) as client:
        yield Harness(client=client, app=app, db=migrated, settings=settings, peer=peer)


@pytest.fixture
def peer(harness: Harness) -> Iterator[PeerOverride]:
    yield harness.peer
    harness.peer.host = None


@pytest.fixture(scope="module")
async def concurrent_client(make_harness: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests really overlap.

    Litestar's test client runs each request to completion on a portal thread, so ``gather`` over
    it is sequential. This one drives a second app over the same database in the test's own event
    loop through httpx's ASGI transport, so concurrent requests interleave at every await.
    """
    app, _, _ = make_harness()
    started, stop = asyncio.Event(), asyncio.Event()

    async def run_lifespan() -> None:  # enter and exit in one task (anyio cancel scopes insist)
        async with app.lifespan():
            started.set()
            await stop.wait()

    lifespan = asyncio.create_task(run_lifespan())
    await asyncio.wait_for(started.wait(), 30)
    try:
        transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40_000))
        async with httpx.AsyncClient(transport=transport, base_url="http://users.test") as client:
            yield client
    finally:
        stop.set()
        await asyncio.wait_for(lifespan, 30)  # fail loudly rather than hang the run
