"""The gateway's upstream HTTP/1.1 client: pooled keep-alive connections on asyncio protocols,
responses parsed by ``httptools`` (llhttp, the parser Node.js uses).

Why not aiohttp (which the gateway used before, and still uses for its own side requests): on the
proxied hot path its per-request client work (request object, timer context, stream reader,
response object) was half of the gateway's event-loop thread; this client does what a reverse
proxy needs and nothing more — one header pass in, the raw header list out, the body either in one
``bytes`` or chunk by chunk with back-pressure — and costs about a third of that (bench/README.md,
the A/B of issue 23).

Errors keep the meaning the proxy acts on (:mod:`daybook_gateway.proxy`):

* :class:`ConnectError` — no connection could be made (refused, unreachable): the request never
  reached the upstream; :class:`ConnectTimeout` (also a ``TimeoutError``) — connecting took too long;
* :class:`UpstreamDisconnected` — the connection broke before the response was complete;
* :class:`InvalidResponse` — what came back is not HTTP/1.1;
* ``TimeoutError`` — the upstream did not answer (or send the next bytes) in time.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httptools

#: Above this many unread body bytes the connection stops reading until the proxy catches up.
HIGH_WATER = 256 * 1024
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class UpstreamError(Exception):
    """Any failure of the upstream exchange."""


class ConnectError(UpstreamError, ConnectionError):
    pass


class ConnectTimeout(ConnectError, TimeoutError):
    pass


class UpstreamDisconnected(UpstreamError, ConnectionError):
    pass


class InvalidResponse(UpstreamError):
    pass


class ReadTimeout(UpstreamError, TimeoutError):
    pass


class UpstreamResponse:
    """One response: status and raw headers at once, the body read whole or chunk by chunk."""

    __slots__ = ("_conn", "content_length", "raw_headers", "status")

    def __init__(self, conn: _Connection, status: int, raw_headers: list[tuple[bytes, bytes]]) -> None:
        self._conn: _Connection | None = conn
        self.status = status
        self.raw_headers = raw_headers
        self.content_length: int | None = conn.content_length

    async def read(self) -> bytes:
        conn = self._conn
        assert conn is not None, "the body was read already"
        while not conn.complete:
            await conn.wait()
        body = b"".join(conn.chunks) if len(conn.chunks) != 1 else conn.chunks[0]
        conn.chunks.clear()
        self.close()
        return body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        assert conn is not None, "the body was read already"
        while True:
            if conn.chunks:
                chunk = conn.chunks.popleft()
                conn.buffered -= len(chunk)
                if conn.paused and conn.buffered < HIGH_WATER // 4:
                    conn.resume()
                yield chunk
                continue
            if conn.complete:
                self.close()
                return
            await conn.wait()

    def close(self) -> None:
        """Done with this response, read or not: an unfinished connection is closed, not reused
        (calling it again does nothing)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.finish()


class _Connection(asyncio.Protocol):
    """One keep-alive connection to one upstream; one request at a time."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.read_timeout = pool.read_timeout
        self.waiter: asyncio.Future[None] | None = None
        self.error: BaseException | None = None
        self.closed = False
        self.paused = False
        self.write_paused = False
        self.drained: asyncio.Future[None] | None = None
        self.idle_since = 0.0
        self.reused = False
        self._reset()

    def _reset(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.headers_done = False
        self.complete = False
        self.received = False
        self.content_length: int | None = None
        self.keep_alive = True
        self.deadline: float | None = None
        self.head = False
        self.chunked = False

    # ---------------------------------------------------------------- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(InvalidResponse("unexpected upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(InvalidResponse(str(exc)))

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.headers_done and self.content_length is None and not self.chunked:
            self.complete = True  # a body delimited by the end of the connection (RFC 9112 §6.3)
            self.keep_alive = False
            self._wake()
        if not self.complete:
            self._fail(UpstreamDisconnected("the upstream closed the connection"))
        if self.drained is not None and not self.drained.done():
            self.drained.set_exception(UpstreamDisconnected("the upstream closed the connection"))

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    # ---------------------------------------------------------------- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        if len(name) == 14 and name.lower() == b"content-length" and value.isdigit():
            self.content_length = int(value)
        elif len(name) == 17 and name.lower() == b"transfer-encoding":
            self.chunked = True

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.keep_alive = self.parser.should_keep_alive()
        if self.head:  # the parser cannot be told a HEAD's answer has no body: end it here
            self.complete = True
            self.keep_alive = False
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # ---------------------------------------------------------------- request side
    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        if self.transport is not None and not self.closed:
            self.transport.abort()

    def _timed_out(self) -> None:
        self._fail(ReadTimeout("the upstream did not answer in time"))

    async def wait(self) -> None:
        """Until the parser has more for us, the connection fails or the read timeout (bounded by
        the request's total deadline) passes."""
        timeout = self.read_timeout
        if self.error is not None:
            raise self.error
        loop = self.loop
        waiter = self.waiter = loop.create_future()
        at = None if timeout is None else loop.time() + timeout
        if self.deadline is not None and (at is None or self.deadline < at):
            at = self.deadline
        timer = loop.call_at(at, self._timed_out) if at is not None else None
        try:
            await waiter
        finally:
            self.waiter = None
            if timer is not None:
                timer.cancel()

    def resume(self) -> None:
        self.paused = False
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    async def write_stream(self, body: AsyncIterator[bytes], chunked: bool) -> None:
        transport = self.transport
        assert transport is not None
        async for chunk in body:
            if self.error is not None:
                raise self.error
            if chunked:
                transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                transport.write(chunk)
            if self.write_paused:
                self.drained = self.loop.create_future()
                await self.drained
        if chunked:
            transport.write(b"0\r\n\r\n")

    def finish(self) -> None:
        """Back to the pool when the exchange is complete and both sides keep the connection
        alive, else closed."""
        if self.complete and self.keep_alive and self.error is None and not self.closed:
            if self.paused:
                self.resume()
            self._reset()
            self.reused = True
            self.pool.release(self)
        else:
            self.close()

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()
        self.pool.forget(self)


def _request_head(
    method: str, target: str, authority: str, headers: list[tuple[str, str]], framing: str
) -> bytes:
    """The request line and header section; the client's ``Host`` when it sent one (as aiohttp
    did, so a service sees the name it was asked by), else the upstream's authority."""
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    has_host = False
    for name, value in headers:
        if name == "host":
            has_host = True
        lines.append(f"{name}: {value}\r\n")
    if not has_host:
        lines.append(f"Host: {authority}\r\n")
    lines.append(framing)
    return "".join(lines).encode("latin-1")


class ConnectionPool:
    """Keep-alive connections to one upstream (``host:port``), at most ``limit`` open at once;
    idle ones are reused most recently used first and closed after ``keepalive_timeout``."""

    def __init__(
        self,
        url: str,
        *,
        limit: int,
        connect_timeout: float,
        read_timeout: float | None,
        total_timeout: float | None,
        keepalive_timeout: float,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{url}: only http:// upstreams are supported")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.authority = parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.limit = limit
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.keepalive_timeout = keepalive_timeout
        self.loop = asyncio.get_running_loop()
        self.idle: list[_Connection] = []
        self.open: set[_Connection] = set()
        self.queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self._sweeper: asyncio.TimerHandle | None = None

    # ---------------------------------------------------------------- pool bookkeeping
    def release(self, conn: _Connection) -> None:
        conn.idle_since = self.loop.time()
        self.idle.append(conn)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(self.keepalive_timeout, self._sweep)
        self._hand_over()

    def forget(self, conn: _Connection) -> None:
        if conn in self.open:
            self.open.discard(conn)
            if conn in self.idle:
                self.idle.remove(conn)
            self._hand_over()

    def _hand_over(self) -> None:
        while self.queue and (self.idle or len(self.open) < self.limit):
            waiter = self.queue.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        self._sweeper = None
        cutoff = self.loop.time() - self.keepalive_timeout
        for conn in [c for c in self.idle if c.idle_since <= cutoff]:
            conn.close()
        if self.idle:
            self._sweeper = self.loop.call_later(self.keepalive_timeout, self._sweep)

    async def _acquire(self, deadline: float | None) -> _Connection:
        while True:
            while self.idle:
                conn = self.idle.pop()
                if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                    return conn
                conn.close()
            if len(self.open) < self.limit:
                return await self._connect()
            waiter = self.loop.create_future()
            self.queue.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError:
                raise ReadTimeout("no upstream connection became free in time") from None
            finally:
                if not waiter.done():
                    waiter.cancel()

    async def _connect(self) -> _Connection:
        conn = _Connection(self)
        self.open.add(conn)
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self.loop.create_connection(lambda: conn, self.host, self.port)
        except TimeoutError:
            self.forget(conn)
            raise ConnectTimeout(f"connecting to {self.authority} timed out") from None
        except OSError as exc:
            self.forget(conn)
            raise ConnectError(f"cannot connect to {self.authority}: {exc.strerror or exc}") from None
        except BaseException:
            self.forget(conn)
            raise
        return conn

    async def close(self) -> None:
        for conn in list(self.open):
            conn.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    # ---------------------------------------------------------------- one exchange
    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None = None,
        *,
        content_length: int | None = None,
    ) -> UpstreamResponse:
        """Send one request; returns once the status line and headers are in.  ``body`` is bytes
        (sent with its Content-Length) or an async iterator (sent with ``content_length`` when it
        is known, else chunked).  A reused connection the upstream had closed meanwhile is
        replaced once for a request that can be sent again (its body in hand, an idempotent
        method)."""
        loop = self.loop
        target = self.prefix + target
        deadline = None if self.total_timeout is None else loop.time() + self.total_timeout
        if body is None or isinstance(body, bytes):
            if body or method in {"POST", "PUT", "PATCH"}:
                framing = f"Content-Length: {len(body or b'')}\r\n\r\n"
            else:
                framing = "\r\n"
            head = _request_head(method, target, self.authority, headers, framing)
            while True:
                conn = await self._acquire(deadline)
                try:
                    return await self._exchange(conn, head + body if body else head, None, False, deadline)
                except UpstreamDisconnected:
                    if conn.reused and not conn.received and method in _IDEMPOTENT:
                        continue
                    raise
        chunked = content_length is None
        framing = (
            "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {content_length}\r\n\r\n"
        )
        head = _request_head(method, target, self.authority, headers, framing)
        conn = await self._acquire(deadline)
        return await self._exchange(conn, head, body, chunked, deadline)

    async def _exchange(
        self,
        conn: _Connection,
        data: bytes,
        stream: AsyncIterator[bytes] | None,
        chunked: bool,
        deadline: float | None,
    ) -> UpstreamResponse:
        conn.deadline = deadline
        conn.head = data.startswith(b"HEAD ")
        transport = conn.transport
        assert transport is not None
        try:
            transport.write(data)
            if stream is not None:
                await conn.write_stream(stream, chunked)
            while not conn.headers_done:
                await conn.wait()
        except BaseException:
            conn.close()
            raise
        status = conn.parser.get_status_code()
        return UpstreamResponse(conn, status, conn.headers)
