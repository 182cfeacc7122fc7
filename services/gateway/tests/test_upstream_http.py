"""The proxy's upstream client (:mod:`daybook_gateway.upstream_http`) against raw asyncio servers
on loopback that answer exactly the bytes each test needs: keep-alive reuse, a stale pooled
connection, HEAD, a body delimited by the end of the connection, the pool limit, timeouts, a
refused connection and a chunked request body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from daybook_gateway.upstream_http import (
    ConnectError,
    ConnectionPool,
    InvalidResponse,
    ReadTimeout,
    UpstreamDisconnected,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


async def _head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def _answers_once(raw: bytes) -> Handler:
    """A handler that answers the first request with ``raw`` and keeps the connection open."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(raw)
        await writer.drain()
        await reader.read()

    return answer


class Server:
    """Counts connections; ``handler`` speaks for each one."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


def _pool(url: str, **options: float) -> ConnectionPool:
    settings = {"limit": 8, "connect_timeout": 2.0, "read_timeout": 5.0, "total_timeout": 10.0}
    settings.update(options)
    return ConnectionPool(
        url,
        limit=int(settings["limit"]),
        connect_timeout=settings["connect_timeout"],
        read_timeout=settings["read_timeout"],
        total_timeout=settings["total_timeout"],
        keepalive_timeout=15.0,
    )


async def _keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        await _head(reader)
        writer.write(OK)
        await writer.drain()


async def test_connections_are_kept_alive_and_reused() -> None:
    server = Server(_keep_alive)
    async with server as url:
        pool = _pool(url)
        for _ in range(3):
            response = await pool.request("GET", "/a", [("accept", "*/*")])
            assert (response.status, await response.read()) == (200, b"ok")
            assert (b"Content-Type", b"text/plain") in response.raw_headers
        await pool.close()
    assert server.connections == 1


async def test_a_pooled_connection_the_upstream_closed_is_replaced_for_an_idempotent_request() -> None:
    async def one_answer_per_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(OK)  # says nothing of closing: the client keeps it in its pool
        await writer.drain()
        await _head(reader)  # the next request arrives as the upstream gives up on the connection
        writer.transport.abort()

    server = Server(one_answer_per_connection)
    async with server as url:
        pool = _pool(url)
        assert await (await pool.request("GET", "/a", [])).read() == b"ok"
        assert await (await pool.request("GET", "/b", [])).read() == b"ok"  # sent again, anew
        assert server.connections == 2
        # Not a POST: it may have reached the upstream, which may have acted on it.
        with pytest.raises(UpstreamDisconnected):
            await pool.request("POST", "/c", [], b"{}")
        await pool.close()
    assert server.connections == 2


async def test_head_ends_at_the_header_section() -> None:
    async with Server(_answers_once(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")) as url:
        pool = _pool(url, read_timeout=1.0)
        response = await pool.request("HEAD", "/a", [])
        assert (response.status, response.content_length, await response.read()) == (200, 1000, b"")
        await pool.close()


async def test_a_body_delimited_by_the_end_of_the_connection() -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of")
        await writer.drain()
        writer.write(b" it")

    async with Server(until_close) as url:
        pool = _pool(url)
        response = await pool.request("GET", "/a", [])
        assert response.content_length is None
        assert b"".join([chunk async for chunk in response.iter_chunks()]) == b"all of it"
        await pool.close()


async def test_requests_past_the_limit_wait_for_a_free_connection() -> None:
    server = Server(_keep_alive)
    async with server as url:
        pool = _pool(url, limit=1)

        async def fetch() -> bytes:
            response = await pool.request("GET", "/a", [])
            await asyncio.sleep(0.01)
            return await response.read()

        assert await asyncio.gather(*(fetch() for _ in range(5))) == [b"ok"] * 5
        await pool.close()
    assert server.connections == 1


async def test_a_silent_upstream_times_out_and_its_connection_is_not_reused() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    server = Server(silent)
    async with server as url:
        pool = _pool(url, read_timeout=0.2)
        with pytest.raises(ReadTimeout):
            await pool.request("GET", "/a", [])
        with pytest.raises(TimeoutError):
            await pool.request("GET", "/a", [])
        await pool.close()
    assert server.connections == 2


async def test_refused_garbled_and_cut_short() -> None:
    async with Server(_keep_alive) as url:
        pass  # closed: nothing listens on that port any more
    with pytest.raises(ConnectError):
        await _pool(url).request("GET", "/a", [])

    async with Server(_answers_once(b"NOT HTTP AT ALL\r\n\r\n")) as url:
        with pytest.raises(InvalidResponse):
            await _pool(url).request("GET", "/a", [])

    async def cut_short(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()

    async with Server(cut_short) as url:
        response = await _pool(url).request("POST", "/a", [], b"x")
        with pytest.raises(UpstreamDisconnected):
            await response.read()


async def test_a_streamed_request_body_is_sent_chunked_and_the_host_is_the_clients() -> None:
    received: list[bytes] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await _head(reader))
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body))
        await writer.drain()

    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one ", b"two ", b"three"):
            yield part

    async with Server(echo) as url:
        pool = _pool(url)
        response = await pool.request("POST", "/a?b=c", [("host", "api.example"), ("x-one", "1")], parts())
        assert (response.status, await response.read()) == (201, b"one two three")
        await pool.close()
    head = received[0].decode()
    assert head.startswith("POST /a?b=c HTTP/1.1\r\n")
    assert "host: api.example\r\n" in head and "Transfer-Encoding: chunked\r\n" in head
    assert head.lower().count("host:") == 1
