"""The export's assembly at the gateway, against real HTTP servers standing in for the services'
parts: what each part is asked, the zip's files and manifest, and every way it can fail.

(The whole stack's export — real services, real data — is tested in the root ``tests/test_export.py``.)
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web
from gateway_support import lifespan

from daybook_devtools.embedded import free_port
from daybook_devtools.testing.tokens import TestSigner
from daybook_gateway.app import create_app
from daybook_gateway.export import EXPORT_PATH, PARTS
from daybook_gateway.settings import Settings

USER = "018f3c4e-0000-7000-8000-0000000000aa"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class PartServer:
    """One service's ``/internal/v1/export/<kind>``: answers with ``handler``, records what it was asked."""

    handler: Handler
    asked: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/ready":
            return web.json_response({"status": "ready"})
        self.asked.append((request.path, dict(request.headers)))
        return await self.handler(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def kind_of(request: web.Request) -> str:
    return request.path.rsplit("/", 1)[-1]


def list_of(kind: str, count: int) -> bytes:
    """A part as the services frame it: one item per line."""
    if count == 0:
        return b"[\n]\n"
    return b"[\n" + b",\n".join(json.dumps({"kind": kind, "n": i}).encode() for i in range(count)) + b"\n]\n"


async def account(request: web.Request) -> web.StreamResponse:
    """The users service: the account, then its lists."""
    if kind_of(request) == "account":
        return web.json_response({"id": USER, "email": "a@example.com"})
    return await parts(request)


async def parts(request: web.Request) -> web.StreamResponse:
    kind = kind_of(request)
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    body = list_of(kind, len(kind))  # a count that differs per kind
    for at in range(0, len(body), 7):  # in small pieces, as a cursor would
        await response.write(body[at : at + 7])
    await response.write_eof()
    return response


@asynccontextmanager
async def gateway(
    signer: TestSigner, users: Handler, journal: Handler, reminders: Handler, **env: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, PartServer]]]:
    servers = {"users": PartServer(users), "journal": PartServer(journal), "reminders": PartServer(reminders)}
    for server in servers.values():
        await server.start()
    settings = Settings.from_env(
        {
            "GATEWAY_USERS_URL": servers["users"].url,
            "GATEWAY_JOURNAL_URL": servers["journal"].url,
            "GATEWAY_REMINDERS_URL": servers["reminders"].url,
            "GATEWAY_JWKS_JSON": signer.jwks_json,
            "GATEWAY_RATE_LIMITS": "off",
            "GATEWAY_LOG_LEVEL": "WARNING",
            **env,
        }
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50123))  # type: ignore[arg-type]
    try:
        async with (
            lifespan(app),
            httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client,
        ):
            yield client, servers
    finally:
        for server in servers.values():
            if server.runner is not None:
                await server.runner.cleanup()


async def test_the_zip_is_the_parts_in_order_with_a_manifest(signer: TestSigner) -> None:
    headers = {**signer.headers(USER), "Cookie": "session=secret", "X-Request-ID": "export-test-1"}
    async with gateway(signer, account, parts, parts) as (client, servers):
        r = await client.get(EXPORT_PATH, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["x-request-id"] == "export-test-1"
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    assert archive.namelist() == [part.filename for part in PARTS] + ["manifest.json"]
    for part in PARTS[1:]:
        assert archive.read(part.filename) == list_of(part.kind, len(part.kind)), part.kind  # byte for byte
    assert json.loads(archive.read("account.json"))["id"] == USER
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["user_id"] == USER and manifest["api_version"] == "v1"
    assert manifest["counts"] == {part.kind: 1 if part.single else len(part.kind) for part in PARTS}
    # Each service was asked for its own parts, in order, with the caller's token and nothing else of theirs.
    for name, server in servers.items():
        kinds = [part.kind for part in PARTS if part.service == name]
        assert [path for path, _ in server.asked] == [f"/internal/v1/export/{kind}" for kind in kinds]
        for _, sent in server.asked:
            assert sent["Authorization"] == headers["Authorization"]
            assert sent["X-Request-ID"] == "export-test-1"
            assert "Cookie" not in sent


async def test_an_empty_part_counts_zero(signer: TestSigner) -> None:
    async def empty(request: web.Request) -> web.StreamResponse:
        if kind_of(request) == "account":
            return await account(request)
        return web.Response(body=list_of(kind_of(request), 0), content_type="application/json")

    async with gateway(signer, empty, empty, empty) as (client, _):
        r = await client.get(EXPORT_PATH, headers=signer.headers(USER))
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(r.content)).read("manifest.json"))
    assert set(manifest["counts"].values()) == {0, 1} and manifest["counts"]["account"] == 1


async def test_an_account_the_users_service_refuses_gets_401_and_no_zip(signer: TestSigner) -> None:
    async def refused(request: web.Request) -> web.StreamResponse:
        return web.json_response({"status": 401}, status=401)

    async with gateway(signer, refused, parts, parts) as (client, servers):
        r = await client.get(EXPORT_PATH, headers=signer.headers(USER))
    assert r.status_code == 401
    assert [path for path, _ in servers["users"].asked] == ["/internal/v1/export/account"]
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert servers["journal"].asked == [] and servers["reminders"].asked == []


async def test_users_unavailable_is_503_naming_it(signer: TestSigner) -> None:
    async with gateway(
        signer, account, parts, parts, GATEWAY_USERS_URL=f"http://127.0.0.1:{free_port()}"
    ) as (
        client,
        _,
    ):
        r = await client.get(EXPORT_PATH, headers=signer.headers(USER))
    assert r.status_code == 503
    assert r.json()["service"] == "users"


async def test_a_part_failing_after_the_200_breaks_the_response(signer: TestSigner) -> None:
    async def tasks_fail(request: web.Request) -> web.StreamResponse:
        if kind_of(request) == "tasks":
            return web.json_response({"status": 500}, status=500)
        return await parts(request)

    async with gateway(signer, account, tasks_fail, parts) as (client, servers):
        with pytest.raises(Exception, match="journal answered 500 for tasks"):
            await client.get(EXPORT_PATH, headers=signer.headers(USER))
    assert servers["reminders"].asked == []  # nothing after the failed part


async def test_another_method_is_405(signer: TestSigner) -> None:
    async with gateway(signer, account, parts, parts) as (client, servers):
        r = await client.post(EXPORT_PATH, headers=signer.headers(USER))
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert all(server.asked == [] for server in servers.values())


async def test_exports_beyond_the_concurrency_get_503(signer: TestSigner) -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        if kind_of(request) == "account":  # the slot is taken before the first part is asked for
            started.set()
            await asyncio.wait_for(release.wait(), 10)
        return await account(request)

    async with gateway(signer, slow, parts, parts, GATEWAY_EXPORT_CONCURRENCY="1") as (client, _):
        first = asyncio.create_task(client.get(EXPORT_PATH, headers=signer.headers(USER)))
        await asyncio.wait_for(started.wait(), 10)
        busy = await client.get(EXPORT_PATH, headers=signer.headers(USER))
        release.set()
        done = await asyncio.wait_for(first, 10)
        again = await client.get(EXPORT_PATH, headers=signer.headers(USER))
    assert busy.status_code == 503 and busy.headers["retry-after"] == "10"
    assert done.status_code == 200 and again.status_code == 200


async def test_a_client_that_leaves_stops_the_export(signer: TestSigner) -> None:
    """Granian drops what is sent to a gone client silently: the export watches for ``http.disconnect``
    and stops instead of reading every part for nobody (the ASGI app is called directly here, to
    leave half-way)."""
    never = asyncio.Event()
    left = asyncio.Event()

    async def stuck(request: web.Request) -> web.StreamResponse:
        if kind_of(request) == "tasks" and not left.is_set():  # the first one takes long: the client leaves
            left.set()
            await asyncio.wait_for(never.wait(), 30)
        return await parts(request)

    # One export at a time, on one zip thread: the next export works only if the first one freed both.
    async with gateway(signer, account, stuck, parts, GATEWAY_EXPORT_CONCURRENCY="1") as (client, servers):
        app = client._transport.app  # type: ignore[attr-defined]
        sent: list[dict[str, object]] = []
        requests = iter([{"type": "http.request", "body": b"", "more_body": False}])

        async def receive() -> dict[str, object]:
            message = next(requests, None)
            if message is not None:
                return message
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": EXPORT_PATH,
            "raw_path": EXPORT_PATH.encode(),
            "query_string": b"",
            "headers": [
                (b"host", b"gateway.test"),
                *((k.lower().encode(), v.encode()) for k, v in signer.headers(USER).items()),
            ],
            "client": ("198.51.100.7", 50123),
            "server": ("gateway.test", 80),
        }
        await asyncio.wait_for(app(scope, receive, send), 10)  # returns, without waiting for the stuck part
        assert sent[0]["status"] == 200
        assert not any(message.get("more_body") is False for message in sent[1:])  # never finished
        assert servers["reminders"].asked == []  # and asked for nothing after the client left
        again = await asyncio.wait_for(client.get(EXPORT_PATH, headers=signer.headers(USER)), 10)
        assert again.status_code == 200 and zipfile.ZipFile(io.BytesIO(again.content)).testzip() is None
        never.set()
