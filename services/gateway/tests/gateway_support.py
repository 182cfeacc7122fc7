"""Helpers for the gateway tests: real upstream HTTP servers on ephemeral ports, lifespan, subprocesses.

The upstreams are real servers (``aiohttp.web`` in the test's event loop, or a raw asyncio server
that speaks broken HTTP), not mocks: the gateway reaches them over TCP exactly as it reaches the
services.  Each stub records what it received so tests can assert what crossed the gateway — and
what did not.  The gateway itself runs in-process under ``httpx.ASGITransport`` (its lifespan
driven like a server would) or, in ``test_e2e_*``, as ``daybook-gateway serve`` under Granian.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from multidict import CIMultiDict

PEER = "198.51.100.7"  # the TCP peer the in-process gateway sees


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: CIMultiDict[str]
    body: bytes


@dataclass
class StubUpstream:
    """A real HTTP server standing in for a service; it echoes and records every request."""

    name: str
    openapi: dict[str, Any] | None = None
    ready_status: int = 200
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    #: Times (loop clock) at which the stub's event streams ended because nobody was reading.
    streams_dropped: list[float] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [s.path_qs for s in self.seen]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/ready":
            return web.json_response({"status": "x"}, status=self.ready_status)
        if request.path == "/schema/openapi.json":
            if self.openapi is None:
                return web.json_response({"detail": "no schema"}, status=404)
            return web.json_response(self.openapi)
        body = await request.read()
        self.seen.append(Seen(request.method, request.raw_path, CIMultiDict(request.headers), body))
        if request.path == "/api/v1/notifications/stream":
            return await self.event_stream(request)
        last = request.path.rstrip("/").rsplit("/", 1)[-1]
        if "x-stub-status" in request.headers:  # answer with this status (e.g. a failed login's 401)
            return web.json_response({"status": "stubbed"}, status=int(request.headers["x-stub-status"]))
        if "x-stub-cache-control" in request.headers:  # a service that sets its own caching
            return web.json_response(
                {"status": "stubbed"}, headers={"Cache-Control": request.headers["x-stub-cache-control"]}
            )
        if last == "slow":
            with suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), 30)
        if last == "big":
            response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for i in range(48):
                await response.write(bytes([i]) * 65536)
            await response.write_eof()
            return response
        if last == "hop":
            return web.json_response(
                {"ok": True},
                headers={
                    "Keep-Alive": "timeout=5",
                    "Proxy-Authenticate": "Basic",
                    "Trailer": "X-Checksum",
                    "Upgrade": "h2c",
                    "X-Request-ID": "made-up-by-upstream",
                    "X-Kept": "yes",
                },
            )
        if last == "created":
            return web.json_response(
                {"id": "1"},
                status=201,
                headers={"Location": "/api/v1/journal/entries/1", "ETag": '"v1"'},
            )
        if last == "empty":
            return web.Response(status=204)
        return web.json_response(
            {
                "service": self.name,
                "method": request.method,
                "path_qs": request.raw_path,
                "body_length": len(body),
                "body_sha": hashlib.sha256(body).hexdigest(),
            },
            headers={"X-Upstream": self.name},
        )

    async def event_stream(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: ``?beats=N&every=S`` comment lines S seconds apart, then one event
        and the end; ``&idle=S`` instead falls silent for S seconds after the beats."""
        beats, every = int(request.query.get("beats", "3")), float(request.query.get("every", "0.3"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for i in range(beats):
                await response.write(f": beat {i}\n\n".encode())
                await asyncio.sleep(every)
            if "idle" in request.query:
                await asyncio.sleep(float(request.query["idle"]))
            await response.write(b"id: 1\ndata: {}\n\n")
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.streams_dropped.append(asyncio.get_running_loop().time())
            raise
        return response

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()


class BrokenUpstream:
    """Speaks broken HTTP: ``mode="garbage"`` answers with a non-HTTP line, ``"truncated"`` promises a
    body it never finishes, ``"hangup"`` closes without a word."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            if self.mode == "garbage":
                writer.write(b"this is not HTTP at all\r\n\r\n")
            elif self.mode == "truncated":
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
                )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@dataclass
class Upstreams:
    users: StubUpstream
    journal: StubUpstream
    reminders: StubUpstream

    def all(self) -> list[StubUpstream]:
        return [self.users, self.journal, self.reminders]

    def clear(self) -> None:
        for stub in self.all():
            stub.seen.clear()
            stub.ready_status = 200

    def env(self) -> dict[str, str]:
        return {
            "GATEWAY_USERS_URL": self.users.url,
            "GATEWAY_JOURNAL_URL": self.journal.url,
            "GATEWAY_REMINDERS_URL": self.reminders.url,
        }


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Drive an ASGI app's lifespan the way Granian does."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.3"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await task


# ---------------------------------------------------------------------- subprocesses (Granian)
class Servers:
    """Server processes started together (each in its own session), awaited by port, stopped as a group."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen[bytes], int]] = []

    def start(self, name: str, cmd: list[str], env: dict[str, str], port: int) -> None:
        log = (self.log_dir / f"{name}.log").open("wb")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.procs.append((name, proc, port))

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    async def wait(self, timeout: float = 90) -> None:
        """Wait (without blocking the event loop, which may be serving stub upstreams) for every port."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for name, proc, port in self.procs:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log(name)[-4000:]}")
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    if loop.time() > deadline:
                        raise RuntimeError(f"{name} did not start:\n{self.log(name)[-4000:]}") from None
                    await asyncio.sleep(0.1)
                    continue
                writer.close()
                break

    def stop(self) -> None:
        for _, proc, _ in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _, proc, _ in reversed(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextmanager
def servers(log_dir: Path) -> Iterator[Servers]:
    group = Servers(log_dir)
    try:
        yield group
    finally:
        group.stop()


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)


async def wait_ready(url: str, attempts: int = 200) -> httpx.Response:
    async with httpx.AsyncClient() as c:
        response: httpx.Response | None = None
        for _ in range(attempts):
            try:
                response = await c.get(url)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        assert response is not None, f"{url} never answered"
        return response
