"""Prometheus metrics of a Daybook process (``prometheus_client``), one module for every service.

Each metric is defined once here with a ``service`` label, so a process that hosts several
apps (the tests) keeps them apart, and Prometheus' ``job``/``instance`` stay free for the
deployment. Served with several Granian workers, ``daybook_common.cli.serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start: every worker
writes its values there and any worker's ``/metrics`` adds them all up (gauges say how:
``livesum`` for counts in use, ``livemostrecent`` for values any one worker measures for the
whole service). :func:`render` is that exposition for listeners that are not Litestar apps
(the gateway's admin port, the scheduler). The directory of a master that was SIGKILLed is
removed by the next multi-worker start (:func:`forget_stale_multiprocess_dirs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

logger = logging.getLogger("daybook.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
#: Request latency buckets (seconds): the services answer in ~1-30 ms, the gateway's p99 target is 30 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Lag buckets (seconds) of events and reminders: sub-second normally, minutes after an outage.
LAG_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
#: The route label of a request no route matched (never the raw path: unbounded label values).
UNMATCHED = "<unmatched>"


def _latest_gauge(name: str, documentation: str, labels: list[str]) -> Gauge:
    """A gauge of what one worker measures (a backlog, a queue length): the most recent live
    worker's value is the value."""
    return Gauge(name, documentation, labels, multiprocess_mode="livemostrecent")


# --- HTTP -------------------------------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "daybook_http_requests_total",
    "HTTP requests answered, by route template, method and status",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "daybook_http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
# --- gateway ----------------------------------------------------------------------------------
UPSTREAM_LATENCY = Histogram(
    "daybook_gateway_upstream_duration_seconds",
    "Time until an upstream service's response headers arrived",
    ["upstream"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_ERRORS = Counter(
    "daybook_gateway_upstream_errors_total",
    "Upstream requests that failed (timeout: 504, unavailable: 503, invalid: 502, broken: mid-response, "
    "retried: tried again on another replica)",
    ["upstream", "kind"],
)
RATE_LIMITED = Counter(
    "daybook_rate_limited_total",
    "Requests refused with 429 by a rate limit or login throttle",
    ["service", "rule"],
)
LOGIN_FAILURES = Counter(
    "daybook_login_failures_total",
    "Logins refused for a wrong email or password (not the throttled ones)",
    ["service"],
)
# --- database pool ----------------------------------------------------------------------------
DB_POOL_IN_USE = Gauge(
    "daybook_db_pool_connections_in_use",
    "Pooled connections checked out now",
    ["service"],
    multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "daybook_db_pool_waiting",
    "Requests waiting for a pooled connection now",
    ["service"],
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "daybook_db_pool_capacity",
    "Connections the pool may open (pool size + overflow)",
    ["service"],
    multiprocess_mode="livesum",
)
# --- events -----------------------------------------------------------------------------------
OUTBOX_BACKLOG = _latest_gauge("daybook_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = _latest_gauge(
    "daybook_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row (0 when none)", ["service"]
)
OUTBOX_PUBLISHED = Counter(
    "daybook_outbox_published_total", "Outbox rows published to JetStream", ["service"]
)
OUTBOX_PUBLISH_ERRORS = Counter(
    "daybook_outbox_publish_errors_total", "Relay passes stopped by a failed publish", ["service"]
)
CONSUMER_HANDLED = Counter(
    "daybook_consumer_handled_total",
    "Events handled (or skipped as already handled)",
    ["service", "consumer"],
)
CONSUMER_REDELIVERED = Counter(
    "daybook_consumer_redelivered_total",
    "Deliveries of an event that were not its first",
    ["service", "consumer"],
)
CONSUMER_DEAD_LETTERED = Counter(
    "daybook_consumer_dead_lettered_total",
    "Events given up on and copied to deadletter.>",
    ["service", "consumer"],
)
CONSUMER_FAILURES = Counter(
    "daybook_consumer_failures_total", "Handler attempts that failed (retried later)", ["service", "consumer"]
)
CONSUMER_LAG = Histogram(
    "daybook_consumer_lag_seconds",
    "Time from an event's arrival in the stream to its handling",
    ["service", "consumer"],
    buckets=LAG_BUCKETS,
)
CONSUMER_PENDING = _latest_gauge(
    "daybook_consumer_pending_messages",
    "Messages in the stream not yet delivered to this consumer (as of its last delivery)",
    ["service", "consumer"],
)
# --- email (users' mail worker) -----------------------------------------------------------------
EMAILS_QUEUED = _latest_gauge(
    "daybook_emails_queued",
    "Emails waiting in mail_outbox to be sent (as of the mail worker's last pass)",
    ["service"],
)
EMAILS_SENT = Counter(
    "daybook_emails_sent_total", "Emails the SMTP server (or the file sender) accepted", ["service"]
)
EMAILS_FAILED = Counter(
    "daybook_emails_failed_total", "Send attempts that failed (retried later)", ["service"]
)
EMAILS_DEAD = Counter(
    "daybook_emails_dead_total",
    "Emails given up on after the last attempt (kept for an operator)",
    ["service"],
)
# --- scheduler --------------------------------------------------------------------------------
SCHEDULER_FIRED = Counter(
    "daybook_scheduler_fired_total", "Notifications recorded by the scheduler (reminders and snoozes)", []
)
SCHEDULER_PASSES = Counter("daybook_scheduler_passes_total", "Scheduler passes completed", [])
SCHEDULER_LAG = Histogram(
    "daybook_scheduler_lag_seconds",
    "Time from a reminder's due time to its firing",
    [],
    buckets=LAG_BUCKETS,
)
SCHEDULER_DUE = _latest_gauge(
    "daybook_scheduler_due_backlog", "Reminders due and not yet fired (as of the last pass)", []
)
SCHEDULER_LAST_PASS = Gauge(
    "daybook_scheduler_last_pass_timestamp_seconds",
    "Unix time of the scheduler's last completed pass",
    [],
    multiprocess_mode="max",
)


_LIVE_GAUGE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process that still runs (a zombie does not: its files are history)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1][:1] not in {"Z", "X"}
    except OSError:
        return True  # no /proc: kill(0) said it exists


def forget_dead_workers(path: str) -> list[int]:
    """``mark_process_dead`` for every pid with live-gauge files in ``path`` that no longer runs.

    A worker that exits — killed, crashed and respawned by Granian, or replaced gracefully on
    SIGHUP — leaves its ``gauge_live*_<pid>.db`` files, and the ``livesum``/``livemostrecent``
    gauges kept adding (or showing) its last values: two workers' pool capacity counted three
    times after one respawn.  Counters and histograms of dead workers stay (totals never drop)."""
    try:
        names = os.listdir(path)
    except OSError:
        return []
    pids = {int(m.group(1)) for name in names if (m := _LIVE_GAUGE_FILE.fullmatch(name))}
    dead = sorted(pid for pid in pids if not _running(pid))
    for pid in dead:
        with contextlib.suppress(FileNotFoundError):  # another worker's scrape removed them first
            multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
    return dead


def registry() -> CollectorRegistry:
    """The registry to expose: every worker's values in multiprocess mode (after forgetting the
    live gauges of workers that are gone), this process's otherwise."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        forget_dead_workers(path)
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
        return collected
    return REGISTRY


def render() -> bytes:
    """The Prometheus text exposition of :func:`registry`."""
    return generate_latest(registry())


def prepare_multiprocess(service: str, workers: int) -> None:
    """Before Granian starts ``workers`` > 1 processes: give them one empty metrics directory.

    ``PROMETHEUS_MULTIPROC_DIR`` given: emptied (values of a previous run would be added in);
    not given: a new temporary directory. Must run before a worker records a value
    (the workers inherit the environment and are forked after this)."""
    from prometheus_client import values

    if workers <= 1:
        return
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        if path.exists():
            for child in path.glob("*.db"):
                child.unlink()
        path.mkdir(parents=True, exist_ok=True)
    else:
        forget_stale_multiprocess_dirs()
        # The owner's pid in the name from the start: no moment where another process's
        # forget_stale_multiprocess_dirs could take the new directory for an orphan.
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix=f"daybook-{service}-metrics-{os.getpid()}-")
    # The value class is chosen when prometheus_client is imported, which the serving process
    # already did (settings import this module): choose again. Every labelled value is made later,
    # in the forked workers, with the multiprocess class.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


_OWNED_DIR = re.compile(r"daybook-[\w-]+?-metrics-(\d+)-\w+")
_WRITER_FILE = re.compile(r".+_(\d+)\.db")


def forget_stale_multiprocess_dirs(root: str | None = None) -> list[Path]:
    """Remove the metrics directories :func:`prepare_multiprocess` made in ``root`` (the temporary
    directory) for a process that is gone; the ones removed.

    A master that exits normally removes its own (:func:`forget_multiprocess_dir`); a SIGKILLed
    one (the OOM killer, ``kill -9``, a launcher killed with its children) left it behind, one
    more for every such death.  A directory stays while its owner (the pid in its name) runs, and
    while any process whose pid names one of its files (a worker that outlived its master) runs.
    Directories named without an owner (made before owners were named) are left alone."""
    base = Path(root if root is not None else tempfile.gettempdir())
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    for entry in entries:
        owned = _OWNED_DIR.fullmatch(entry.name)
        if owned is None or not entry.is_dir() or entry.is_symlink() or _running(int(owned.group(1))):
            continue
        try:
            writers = {int(m.group(1)) for name in os.listdir(entry) if (m := _WRITER_FILE.fullmatch(name))}
        except OSError:
            continue
        if any(_running(pid) for pid in writers):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        if not entry.exists():
            logger.info("removed the metrics directory %s of a process that is gone", entry)
            removed.append(entry)
    return removed


def forget_multiprocess_dir() -> None:
    """Remove the directory :func:`prepare_multiprocess` made (called when ``serve`` returns)."""
    given = os.environ.get(MULTIPROC_ENV, "")
    if Path(given).name.startswith("daybook-") and given.startswith(tempfile.gettempdir()):
        shutil.rmtree(given, ignore_errors=True)


class HttpMetrics:
    """Counts and times the answers of one service; the label children are cached per key.

    ``prometheus_client``'s ``labels()`` validates and locks on every call: caching the
    children keeps the recording to a dict lookup, an ``inc`` and an ``observe``."""

    def __init__(self, service: str) -> None:
        self.service = service
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latency: dict[tuple[str, str], Any] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = HTTP_REQUESTS.labels(self.service, method, route, str(status))
        count.inc()
        latency = self._latency.get(key[:2])
        if latency is None:
            latency = self._latency[key[:2]] = HTTP_LATENCY.labels(self.service, method, route)
        latency.observe(seconds)


class PoolSampler:
    """Samples a SQLAlchemy pool every ``interval`` seconds into the ``daybook_db_pool_*`` gauges.

    In use and capacity come from the pool's public counters; the waiters from the asyncio queue
    SQLAlchemy's async pool blocks on (0 when a pool has no such queue)."""

    def __init__(self, service: str, pool: Callable[[], Any], interval: float = 1.0) -> None:
        self.service = service
        self.pool = pool
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        pool = self.pool()
        if pool is None:
            return
        in_use = pool.checkedout() if hasattr(pool, "checkedout") else 0
        capacity = pool.size() + max(getattr(pool, "_max_overflow", 0), 0) if hasattr(pool, "size") else 0
        queue = getattr(getattr(pool, "_pool", None), "_queue", None)
        waiting = len(getattr(queue, "_getters", ()) or ())
        DB_POOL_IN_USE.labels(self.service).set(in_use)
        DB_POOL_WAITING.labels(self.service).set(waiting)
        DB_POOL_CAPACITY.labels(self.service).set(capacity)

    async def run(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # a sampling error must never end the worker
                logger.exception("pool sampling failed")
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"pool-sampler-{self.service}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


class MetricsListener:
    """A small HTTP listener of its own (aiohttp) with ``GET /metrics`` and ``GET /health``.

    For processes whose metrics must not share a port with anything public (the gateway's admin
    port) or that have no HTTP port at all (the scheduler). ``reuse_port``: every Granian worker
    binds the same port and any of them answers with all workers' values (multiprocess mode).
    ``/health`` answers 200 while ``health()`` says so, 503 otherwise, with its details as JSON."""

    def __init__(
        self, host: str, port: int, health: HealthCheck | None = None, *, reuse_port: bool = False
    ) -> None:
        self.host = host
        self.port = port
        self.health = health
        self.reuse_port = reuse_port
        self._runner: Any = None

    async def start(self) -> int:
        """Bind and serve; returns the port (the one chosen when ``port`` is 0)."""
        from aiohttp import web

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=render(), headers={"Content-Type": CONTENT_TYPE})

        async def health(_: web.Request) -> web.Response:
            ok, details = self.health() if self.health is not None else (True, {})
            return web.json_response(
                {"status": "ok" if ok else "failing", **details}, status=200 if ok else 503
            )

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/health", health)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_port=self.reuse_port or None)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
