"""PostgreSQL stopped under writes (issue 12): clients get 503 problem+json with Retry-After,
``/ready`` is 503, the log has one line per outage (no tracebacks), and once the server is back
the same app serves again — nothing restarted, no acknowledged write lost.

The test stops and restarts a PostgreSQL of its own (never the run's shared one).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from daybook_devtools.embedded import EmbeddedPostgres, stop_process
from daybook_devtools.testing.databases import TestDatabase, create_test_database
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.app import create_app
from daybook_journal.settings import Settings
from daybook_journal.testing import User


@pytest.fixture(scope="module")
def own_database(own_postgres: EmbeddedPostgres) -> TestDatabase:
    db = create_test_database(own_postgres.admin_url())
    db.migrate(SCHEMA, SCRIPT_LOCATION)
    return db


@pytest.fixture
async def journal(own_database: TestDatabase, signer: TestSigner) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.from_env(
        {
            "JOURNAL_DATABASE_URL": own_database.url(SCHEMA),
            "JOURNAL_JWKS_JSON": signer.jwks_json,
            "JOURNAL_ACCESS_LOG": "false",
            "JOURNAL_EVENTS_ENABLED": "false",
            "JOURNAL_DB_POOL_TIMEOUT": "2",
            "JOURNAL_DB_CONNECT_TIMEOUT": "2",
            "JOURNAL_DB_COMMAND_TIMEOUT": "3",
        }
    )
    app = create_app(settings)
    started, stopping = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stopping.wait()

    running = asyncio.create_task(lifespan())
    await started.wait()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://journal.test", timeout=30
    ) as client:
        yield client
    stopping.set()
    await running


@dataclass
class Outcomes:
    statuses: list[tuple[float, int]] = field(default_factory=list)
    acknowledged: list[str] = field(default_factory=list)
    retry_after: set[str | None] = field(default_factory=set)
    problem_types: set[str] = field(default_factory=set)


async def write_until(client: httpx.AsyncClient, user: User, stop: asyncio.Event, out: Outcomes) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        r = await client.post(
            "/api/v1/journal/entries",
            json={"title": f"w{n}", "content": "outage test", "entry_date": "2026-01-02T09:00:00Z"},
            headers=user.headers,
        )
        out.statuses.append((time.monotonic(), r.status_code))
        if r.status_code == 201:
            out.acknowledged.append(r.json()["id"])
        elif r.status_code == 503:
            out.retry_after.add(r.headers.get("retry-after"))
            out.problem_types.add(r.headers["content-type"])
        await asyncio.sleep(0.01)


async def read_until(client: httpx.AsyncClient, user: User, stop: asyncio.Event, statuses: list[int]) -> None:
    """The hot read (the journal's fast path on its own asyncpg pool) under the same outage."""
    while not stop.is_set():
        r = await client.get("/api/v1/journal/entries?limit=5", headers=user.headers)
        statuses.append(r.status_code)
        if r.status_code == 503:
            assert r.headers.get("retry-after") == "2"
        await asyncio.sleep(0.02)


async def test_database_outage_is_503_with_retry_after_and_loses_nothing(
    journal: httpx.AsyncClient,
    own_postgres: EmbeddedPostgres,
    alice: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = Outcomes()
    stop = asyncio.Event()
    caplog.set_level(logging.WARNING)
    writers = [asyncio.create_task(write_until(journal, alice, stop, out)) for _ in range(4)]
    reads: list[int] = []
    writers.append(asyncio.create_task(read_until(journal, alice, stop, reads)))
    await asyncio.sleep(1.0)
    assert any(s == 201 for _, s in out.statuses), out.statuses[:5]

    assert own_postgres.proc is not None
    stopped_at = time.monotonic()
    await asyncio.to_thread(stop_process, own_postgres.proc, signal.SIGQUIT)  # immediate shutdown: a crash
    own_postgres.proc = None
    await asyncio.sleep(1.5)
    ready = await journal.get("/ready")
    assert ready.status_code == 503, ready.text
    assert ready.headers["content-type"].startswith("application/problem+json")

    await asyncio.to_thread(own_postgres.start)
    restarted_at = time.monotonic()
    deadline = restarted_at + 30
    while time.monotonic() < deadline and not any(t > restarted_at and s == 201 for t, s in out.statuses):
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*writers)

    seen = {s for _, s in out.statuses}
    failures = [t for t, s in out.statuses if s != 201]
    window = (max(failures) - min(failures)) if failures else 0.0
    print(
        f"\noutage: PostgreSQL down {restarted_at - stopped_at:.2f} s; error window {window:.2f} s; "
        f"statuses {sorted(seen)}; {len(failures)} refused, {len(out.acknowledged)} acknowledged; "
        f"reads {sorted(set(reads))}, {reads.count(503)} of {len(reads)} refused"
    )
    assert seen <= {201, 503}, out.statuses
    assert set(reads) <= {200, 503} and 503 in reads and reads[-1] == 200, sorted(set(reads))
    assert 503 in seen
    assert out.retry_after == {"2"}
    assert all(t.startswith("application/problem+json") for t in out.problem_types)
    assert any(t > restarted_at and s == 201 for t, s in out.statuses), "no recovery without a restart"
    assert (await journal.get("/ready")).status_code == 200

    # Every acknowledged write is there.
    lost = []
    for entry_id in out.acknowledged:
        r = await journal.get(f"/api/v1/journal/entries/{entry_id}", headers=alice.headers)
        if r.status_code != 200:
            lost.append((entry_id, r.status_code))
    print(f"acknowledged writes lost: {len(lost)}")
    assert lost == []

    # One log line per outage, no tracebacks.
    records = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("daybook")]
    assert not [r for r in records if r.exc_info], [r.getMessage() for r in records if r.exc_info]
    started = [r for r in records if r.getMessage().startswith("database unavailable")]
    assert 1 <= len(started) <= 2, [r.getMessage() for r in records]  # one; two if the restart took > 10 s


async def test_hung_database_is_503_within_the_client_timeouts(
    journal: httpx.AsyncClient, own_postgres: EmbeddedPostgres, alice: User
) -> None:
    """A server that accepts connections but never answers (every PostgreSQL process stopped with
    SIGSTOP): writes and the fast-path read get the outage's 503 once ``DB_COMMAND_TIMEOUT`` /
    ``DB_CONNECT_TIMEOUT`` pass, not a hang until the gateway's 504; after SIGCONT they are served.
    Before those timeouts existed each request waited for asyncpg's 60 s connect timeout or forever."""
    write = {"title": "hung", "content": "outage test", "entry_date": "2026-01-02T09:00:00Z"}
    assert (
        await journal.post("/api/v1/journal/entries", json=write, headers=alice.headers)
    ).status_code == 201
    assert (await journal.get("/api/v1/journal/entries?limit=5", headers=alice.headers)).status_code == 200
    assert own_postgres.proc is not None
    server = own_postgres.process_ids()
    for pid in server:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        answers = await asyncio.wait_for(
            asyncio.gather(
                journal.post("/api/v1/journal/entries", json=write, headers=alice.headers),
                journal.get("/api/v1/journal/entries?limit=5&cursor=", headers=alice.headers),
                journal.get("/api/v1/journal/entries?limit=7", headers=alice.headers),
                journal.get("/ready"),
            ),
            timeout=12,
        )
        took = time.monotonic() - started
    finally:
        for pid in server:
            os.kill(pid, signal.SIGCONT)
    print(f"\nhung database: {[a.status_code for a in answers]} after {took:.2f} s")
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert [a.headers.get("retry-after") for a in answers[:3]] == ["2", "2", "2"]
    deadline = time.monotonic() + 15
    status = 0
    while time.monotonic() < deadline and status != 201:
        status = (
            await journal.post("/api/v1/journal/entries", json=write, headers=alice.headers)
        ).status_code
        await asyncio.sleep(0.2)
    assert status == 201, "no recovery after SIGCONT without a restart"
    assert (await journal.get("/api/v1/journal/entries?limit=5", headers=alice.headers)).status_code == 200
