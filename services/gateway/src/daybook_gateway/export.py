"""``GET /api/v1/users/me/export``: all the caller's data in every service, streamed as one zip.

Each service serves its own parts at ``/internal/v1/export/<kind>`` (:mod:`daybook_common.export`;
the gateway routes no ``/internal`` path, so they are not reachable from outside).  The gateway
asks for them one after the other with the caller's own access token and writes each into the
zip as it arrives, so neither the gateway nor any service holds more than a few chunks of it:
memory does not grow with the account.  ``manifest.json`` comes last, with each file's item
count (the parts put one item per line: counted while streaming, never parsed).

The zip is written by `stream-zip` (ZIP64, deflate, data descriptors: sizes need not be known
in advance), deflating with ISA-L (the `isal` package) at its level 1: on this machine zlib
deflated base64 ciphertext at ~39 MB/s of CPU (level 1 or 6 alike; it was 80 % of the gateway's
CPU for an account of encrypted entries), ISA-L at ~400 MB/s with the same ratio (JSON text:
~12 GB/s vs zlib's 0.3).  The library is synchronous; its generator runs on a small thread pool of the
gateway's own (:attr:`Exporter.executor`, ``GATEWAY_EXPORT_CONCURRENCY`` threads), so
compression never blocks the event loop, and each part's chunks are pulled from the loop
with ``run_coroutine_threadsafe``.  At most that many exports run at once per process; one
more gets ``503`` with ``Retry-After``.

Failures: the users part (the account; a deleted or deactivated account gets ``401`` there) is
asked for before the ``200`` is sent, so a refused token or an unavailable users service is
an ordinary problem+json answer.  A later part that fails can only break the connection: the
zip then has no central directory, and every unzip tool reports it as damaged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime
import json
import logging
import stat
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    MutableMapping,
)
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from isal import isal_zlib
from stream_zip import ZIP_64, stream_zip

from daybook_common.export import EXPORT_PATH as PARTS_PATH
from daybook_common.export import item_count
from daybook_gateway.routing import Upstream
from daybook_gateway.settings import Settings

logger = logging.getLogger("daybook.gateway.export")

EXPORT_PATH = "/api/v1/users/me/export"
API_VERSION = "v1"
ZIP_CHUNK = 64 * 1024
DEFLATE_LEVEL = 1  # ISA-L's level 1: zlib's level-6 ratio here, at a tenth of its CPU (see the module)
FILE_MODE = stat.S_IFREG | 0o600
RETRY_BUSY_SECONDS = 10
#: Request headers the parts get from the client's request (the token decides whose data).
FORWARDED = frozenset({"authorization", "user-agent", "x-forwarded-for", "x-forwarded-proto", "x-request-id"})

Headers = list[tuple[bytes, bytes]]
Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]
T = TypeVar("T")


@dataclass(frozen=True)
class Part:
    """One file of the zip, served by ``service`` at ``/internal/v1/export/<kind>``."""

    kind: str
    service: str
    single: bool = False  # one JSON object (the account), not a list

    @property
    def filename(self) -> str:
        return f"{self.kind}.json"


PRACTICE_KINDS = (
    "activity_groups",
    "activities",
    "metric_definitions",
    "split_definitions",
    "session_templates",
    "template_activities",
    "session_goals",
    "activity_instances",
    "metric_values",
)
PARTS: tuple[Part, ...] = (
    Part("account", "users", single=True),
    Part("sign_in_sessions", "users"),
    Part("security_activity", "users"),
    Part("entries", "journal"),
    Part("entry_revisions", "journal"),
    Part("tags", "journal"),
    Part("tasks", "journal"),
    Part("goals", "journal"),
    Part("sessions", "journal"),
    *(Part(kind, "journal") for kind in PRACTICE_KINDS),
    Part("reminders", "reminders"),
    Part("notifications", "reminders"),
    Part("snoozes", "reminders"),
)


class PartFailed(Exception):
    """A part answered something else than 200 after the zip had started."""


class Exporter:
    """Assembles the export zip from the services' parts (see the module)."""

    def __init__(self, settings: Settings, upstreams: dict[str, Upstream]) -> None:
        self.upstreams = upstreams
        self.concurrency = settings.export_concurrency
        self.running = 0
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="daybook-export"
        )
        # No total limit: a big account over a slow connection may take long; each read is bounded.
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=settings.connect_timeout, sock_read=settings.read_timeout
        )

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    @contextlib.contextmanager
    def slot(self) -> Iterator[bool]:
        """One of the ``concurrency`` exports of this process, held from the first part to the last
        byte; ``False`` when all are taken (the request is refused, not queued)."""
        if self.running >= self.concurrency:
            yield False
            return
        self.running += 1
        try:
            yield True
        finally:
            self.running -= 1

    async def open_part(self, part: Part, headers: dict[str, str]) -> aiohttp.ClientResponse:
        upstream = self.upstreams[part.service]
        url = f"{upstream.pick().url}{PARTS_PATH}/{part.kind}"  # replicas in turn, as for any request
        return await upstream.client().get(url, headers=headers, timeout=self.timeout, allow_redirects=False)

    async def stream(
        self,
        send: Send,
        receive: Receive,
        first: aiohttp.ClientResponse,
        headers: dict[str, str],
        user_id: str,
        response_headers: Headers,
    ) -> bool:
        """Send the ``200`` and the zip; ``first`` is the account part, already answered ``200``.

        ``False`` when the client left before the end: Granian drops what is sent to a closed
        connection without a word (granian#650), so ``receive`` is watched for
        ``http.disconnect`` meanwhile, and the export stops instead of reading every part for nobody.
        """
        opened: list[aiohttp.ClientResponse] = [first]
        sending = asyncio.ensure_future(
            self._send_zip(send, first, headers, user_id, response_headers, opened)
        )
        leaving = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait({sending, leaving}, return_when=asyncio.FIRST_COMPLETED)
            if sending.done():
                sending.result()  # raises what failed
                return True
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
            return False
        finally:
            leaving.cancel()
            sending.cancel()
            for response in opened:
                response.close()

    async def _send_zip(
        self,
        send: Send,
        first: aiohttp.ClientResponse,
        headers: dict[str, str],
        user_id: str,
        response_headers: Headers,
        opened: list[aiohttp.ClientResponse],
    ) -> None:
        now = datetime.datetime.now(datetime.UTC)
        filename = f"daybook-export-{now:%Y-%m-%d}.zip"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/zip"),
                    (b"content-disposition", f'attachment; filename="{filename}"'.encode()),
                    (b"cache-control", b"no-store"),
                    *response_headers,
                ],
            }
        )
        members = self._members(first, headers, user_id, now, opened)
        async for chunk in self._zipped(members):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _members(
        self,
        first: aiohttp.ClientResponse,
        headers: dict[str, str],
        user_id: str,
        now: datetime.datetime,
        opened: list[aiohttp.ClientResponse],
    ) -> AsyncGenerator[tuple[str, datetime.datetime, int, Any, AsyncIterator[bytes]]]:
        counts: dict[str, int] = {}
        for part in PARTS:
            response = first if part is PARTS[0] else await self.open_part(part, headers)
            if response is not first:
                opened.append(response)
            if response.status != 200:
                raise PartFailed(f"{part.service} answered {response.status} for {part.kind}")
            yield part.filename, now, FILE_MODE, ZIP_64, self._counted(part, response, counts)
        manifest = {
            "api_version": API_VERSION,
            "exported_at": now.isoformat().replace("+00:00", "Z"),
            "user_id": user_id,
            "counts": counts,
        }
        yield "manifest.json", now, FILE_MODE, ZIP_64, _once(json.dumps(manifest, indent=2).encode() + b"\n")

    @staticmethod
    async def _counted(
        part: Part, response: aiohttp.ClientResponse, counts: dict[str, int]
    ) -> AsyncIterator[bytes]:
        newlines = 0
        async for chunk in response.content.iter_any():
            newlines += chunk.count(b"\n")
            yield chunk
        counts[part.kind] = 1 if part.single else item_count(newlines)
        response.release()

    async def _zipped(
        self, members: AsyncGenerator[tuple[str, datetime.datetime, int, Any, AsyncIterator[bytes]]]
    ) -> AsyncIterator[bytes]:
        """stream-zip's generator, run on :attr:`executor`, over parts read on this event loop."""
        bridge = _Bridge(asyncio.get_running_loop())
        sync_members = (
            (name, modified, mode, method, bridge.blocking(chunks))
            for name, modified, mode, method, chunks in bridge.blocking(members)
        )
        zipped = iter(stream_zip(sync_members, chunk_size=ZIP_CHUNK, get_compressobj=_deflater))
        try:
            while True:
                chunk = await bridge.loop.run_in_executor(self.executor, _next_chunk, zipped)
                if chunk is None:
                    return
                yield chunk
        finally:
            # Stopped early (a failure, the client left): whatever the zip's thread waits for on
            # the loop is cancelled, so the thread is free at once, not after a read timeout.
            bridge.cancel()
            with contextlib.suppress(Exception):
                await members.aclose()


class _Bridge:
    """Async iterators of ``loop`` read from the zip's thread, one item at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: concurrent.futures.Future[Any] | None = None
        self.cancelled = False

    def blocking(self, items: AsyncIterator[T]) -> Iterator[T]:
        while not self.cancelled:
            self.waiting = asyncio.run_coroutine_threadsafe(_next(items), self.loop)
            try:
                yield self.waiting.result()
            except StopAsyncIteration:
                return
        raise concurrent.futures.CancelledError

    def cancel(self) -> None:
        self.cancelled = True
        if self.waiting is not None:
            self.waiting.cancel()


def _deflater() -> Any:
    """A raw deflate stream (ISA-L's, with zlib's interface: what stream-zip calls)."""
    return isal_zlib.compressobj(DEFLATE_LEVEL, isal_zlib.DEFLATED, -isal_zlib.MAX_WBITS)


def _next_chunk(zipped: Iterator[bytes]) -> bytes | None:
    return next(zipped, None)


async def _disconnected(receive: Receive) -> None:
    """Returns once the client has gone (a GET's empty body is read and dropped first)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def _next(items: AsyncIterator[T]) -> T:
    return await anext(items)


def part_headers(forward: Iterable[tuple[str, str]]) -> dict[str, str]:
    """What the parts get of the client's (already rewritten) request headers."""
    return {name: value for name, value in forward if name.lower() in FORWARDED}


__all__ = ["EXPORT_PATH", "PARTS", "Exporter", "Part", "PartFailed", "part_headers"]
