"""``/metrics`` of ``daybook-journal serve --workers 2``: every scrape adds up both workers.

Granian's workers share the port; each connection lands on one of them. Without the
multiprocess directory a scrape would see only the answering worker's counts (about half).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from daybook_devtools.embedded import free_port
from daybook_devtools.testing.databases import TestDatabase
from daybook_devtools.testing.tokens import TestSigner
from daybook_journal import SCHEMA

REQUESTS = 40


@pytest.fixture(scope="module")
def server(
    migrated: TestDatabase, signer: TestSigner, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    log = tmp_path_factory.mktemp("workers") / "journal.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOURNAL_", "PROMETHEUS_"))}
    env.update(
        {
            "JOURNAL_DATABASE_URL": migrated.url(SCHEMA),
            "JOURNAL_JWKS_JSON": signer.jwks_json,
            "JOURNAL_EVENTS_ENABLED": "false",
            "JOURNAL_ACCESS_LOG": "false",
        }
    )
    command = [sys.executable, "-m", "daybook_journal.cli", "serve", "--port", str(port), "--workers", "2"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def served(server: tuple[str, subprocess.Popen[bytes]]) -> str:
    return server[0]


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("journal did not get ready:\n" + log.read_text()[-2000:])


def _metric_sum(url: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples with ``labels`` in one scrape (whichever worker answers)."""
    text = httpx.get(url + "/metrics", timeout=5, headers={"Connection": "close"}).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def _health_count(url: str) -> float:
    return _metric_sum(url, "daybook_http_requests_total", route="/health")


def test_every_scrape_counts_the_requests_of_both_workers(served: str) -> None:
    before = _health_count(served)
    for _ in range(REQUESTS):  # a new connection each: the kernel spreads them over the workers
        assert httpx.get(served + "/health", headers={"Connection": "close"}).status_code == 200
    for _ in range(6):  # whichever worker answers the scrape
        assert _health_count(served) == before + REQUESTS


def _capacity(url: str) -> float:
    return _metric_sum(url, "daybook_db_pool_capacity")


def test_the_live_gauges_of_replaced_workers_are_forgotten(
    server: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """SIGHUP: Granian replaces both workers (a crashed one, respawned, is the same). The pool
    capacity gauge (livesum) is two workers' again, not four: the gone workers' files are marked
    dead at the next scrape. Before, their last values were added in for the process's life."""
    url, proc = server
    old = {child.pid for child in psutil.Process(proc.pid).children()}
    assert len(old) == 2
    deadline = time.monotonic() + 30
    while (two := _capacity(url)) <= 0:  # each worker's pool sampler has written its value
        assert time.monotonic() < deadline
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 90
    while True:
        current = {child.pid for child in psutil.Process(proc.pid).children()}
        if len(current) == 2 and not current & old:
            break
        assert time.monotonic() < deadline, f"workers not replaced: {old} -> {current}"
        time.sleep(0.2)
    _wait_ready(url, proc, Path("/dev/null"))
    time.sleep(2)  # both new workers' samplers ran (every 1 s)
    for _ in range(6):  # whichever worker answers
        assert _capacity(url) == two


def test_a_crashed_worker_is_respawned(server: tuple[str, subprocess.Popen[bytes]]) -> None:
    """SIGKILL of one worker (what the OOM killer does): Granian's master starts a new one and
    keeps serving; before, the master stopped the other worker too and exited with code 1."""
    url, proc = server
    workers = {child.pid for child in psutil.Process(proc.pid).children()}
    assert len(workers) == 2
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the master exited after a worker crashed"
        current = {child.pid for child in psutil.Process(proc.pid).children() if child.status() != "zombie"}
        if len(current) == 2 and victim not in current:
            break
        assert time.monotonic() < deadline, f"worker not respawned: {workers} -> {current}"
        time.sleep(0.2)
    _wait_ready(url, proc, Path("/dev/null"))
    for _ in range(10):  # new connections land on both workers
        assert httpx.get(url + "/health", headers={"Connection": "close"}).status_code == 200
