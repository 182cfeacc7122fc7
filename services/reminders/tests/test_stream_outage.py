"""A stream opening while PostgreSQL hangs (every server process SIGSTOPped) gets the outage's 503
with Retry-After within the service's client timeouts (``DB_CONNECT_TIMEOUT`` for a new connection
of the stream's own pool, ``DB_COMMAND_TIMEOUT`` on a pooled one), and streams open again after
SIGCONT.  Before, that pool had asyncpg's defaults (60 s to connect, no command timeout): the
request hung.  A real reminders process on a PostgreSQL of the test's own (never the run's shared one).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from daybook_devtools.embedded import EmbeddedPostgres
from daybook_devtools.testing.databases import TestDatabase, create_test_database
from daybook_devtools.testing.tokens import TestSigner
from daybook_reminders import SCHEMA, SCRIPT_LOCATION

from .test_stream import STREAM, Replica


@pytest.fixture(scope="module")
def replica(
    own_postgres: EmbeddedPostgres,
    signer: TestSigner,
    nats_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Replica]:
    db: TestDatabase = create_test_database(own_postgres.admin_url())
    db.migrate(SCHEMA, SCRIPT_LOCATION)
    timeouts = {"REMINDERS_DB_CONNECT_TIMEOUT": "2", "REMINDERS_DB_COMMAND_TIMEOUT": "3"}
    process = Replica(db, signer, nats_url, tmp_path_factory.mktemp("stream-outage") / "r.log", timeouts)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


async def _open(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[int, dict[str, Any], bytes]:
    """The status, headers and (for a refusal) body of a stream request; a 200 is closed at once."""
    async with client.stream("GET", STREAM, headers=headers) as response:
        body = b"" if response.status_code == 200 else await response.aread()
        return response.status_code, dict(response.headers), body


async def test_a_stream_opening_on_a_hung_database_is_503_within_the_timeouts(
    replica: Replica, own_postgres: EmbeddedPostgres, signer: TestSigner
) -> None:
    headers = signer.headers(uuid.uuid4())
    async with httpx.AsyncClient(base_url=replica.url, timeout=httpx.Timeout(5, read=60)) as client:
        status, _, _ = await _open(client, headers)
        assert status == 200  # and the stream's pool keeps that connection: the pooled path below
        assert own_postgres.proc is not None
        server = own_postgres.process_ids()
        for pid in server:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            answers = await asyncio.wait_for(
                asyncio.gather(*(_open(client, signer.headers(uuid.uuid4())) for _ in range(3))), timeout=15
            )
            took = time.monotonic() - started
        finally:
            for pid in server:
                os.kill(pid, signal.SIGCONT)
        print(f"\nstreams on a hung database: {[a[0] for a in answers]} after {took:.2f} s")
        for status, answer_headers, body in answers:
            assert status == 503, body
            assert answer_headers["content-type"].startswith("application/problem+json")
            assert answer_headers.get("retry-after") == "2"
        deadline = time.monotonic() + 20
        while (status := (await _open(client, headers))[0]) != 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert status == 200, "no stream after SIGCONT without a restart"
