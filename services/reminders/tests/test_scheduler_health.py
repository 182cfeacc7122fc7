"""The scheduler's own listener: ``/health`` is 200 while passes complete and 503 once none has
for ``REMINDERS_SCHEDULER_HEALTH_INTERVALS`` poll intervals; ``/metrics`` counts its passes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from daybook_devtools.embedded import free_port
from daybook_devtools.testing.databases import TestDatabase
from daybook_reminders import SCHEMA, SCRIPT_LOCATION

Spawn = Callable[[str], str]

DEADLINE = 60.0


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(database_url: str) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
        env.update(
            {
                "REMINDERS_DATABASE_URL": database_url,
                "REMINDERS_SCHEDULER_PORT": str(port),
                "REMINDERS_SCHEDULER_POLL_INTERVAL_SECONDS": "0.2",
                "REMINDERS_SCHEDULER_HEALTH_INTERVALS": "5",
                "REMINDERS_SCHEDULER_RECONNECT_MAX_SECONDS": "5",
            }
        )
        log = tmp_path / f"scheduler-{len(procs)}.log"
        with open(log, "wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "daybook_reminders.scheduler"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(15)


def _health(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url + "/health", timeout=2)
    except httpx.HTTPError:
        return None


def _wait_for(url: str, status: int) -> httpx.Response:
    deadline = time.monotonic() + DEADLINE
    while True:
        answer = _health(url)
        if answer is not None and answer.status_code == status:
            return answer
        assert time.monotonic() < deadline, f"/health never answered {status}: {answer and answer.text}"
        time.sleep(0.1)


def test_healthy_while_passes_complete(fresh_database: TestDatabase, spawn: Spawn) -> None:
    fresh_database.migrate(SCHEMA, SCRIPT_LOCATION)
    url = spawn(fresh_database.url(SCHEMA))
    body = _wait_for(url, 200).json()
    assert body["status"] == "ok" and body["limit_seconds"] == pytest.approx(1.0)
    time.sleep(1.5)  # longer than the limit: still healthy, because passes go on
    answer = _health(url)
    assert answer is not None and answer.status_code == 200, answer and answer.text
    text = httpx.get(url + "/metrics", timeout=5).text
    passes = sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "daybook_scheduler_passes_total"
    )
    assert passes >= 5


def test_fails_when_no_pass_completes(spawn: Spawn) -> None:
    closed = free_port()  # nothing listens: every connection attempt fails, no pass completes
    url = spawn(f"postgresql://reminders:x@127.0.0.1:{closed}/daybook")
    body = _wait_for(url, 503).json()
    assert body["status"] == "failing" and body["last_pass_seconds_ago"] > body["limit_seconds"]
