"""Scheduler firing throughput and lag, with real `daybook-reminders-scheduler` processes.

    uv run python services/reminders/bench/fire_throughput.py                 # embedded PostgreSQL
    uv run python services/reminders/bench/fire_throughput.py --reminders 50000 --schedulers 1 2
    uv run python services/reminders/bench/fire_throughput.py --admin-url postgresql://postgres:…@host/postgres

Two scenarios per scheduler count:

- **backlog** (best case): N reminders with the same schedule (daily 'at this minute' in
  Europe/Berlin) all due at once, like everyone's 08:00; throughput is N / (time from the moment
  they became visible until the last notification was committed). Lag is queueing here: the
  last one waits for all before it.
- **mixed** (worst case for the scheduler's occurrence cache): N reminders due at once, each in
  a random tz-database zone at a random minute of the last 24 hours, so almost every reminder
  needs its own recurrence computation.
- **steady**: N reminders in random zones due one after another at a fixed rate below capacity
  (``--rate``); lag (notification ``created_at`` - ``occurrence_at``) p50/p99 is what a user sees.

Each run uses a fresh database (provisioned and migrated like production) and counts
notifications in the database: the numbers include every commit.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from daybook_devtools.testing.databases import create_test_database, drop_test_database
from daybook_reminders import NOTIFY_CHANNEL, SCHEMA, SCRIPT_LOCATION
from daybook_reminders.recurrence import timezone_names

ZONES = sorted(timezone_names())

SEED = """
INSERT INTO reminders.reminders (id, user_id, title, message, frequency, "time", timezone, start_date,
                                 is_active, next_fire_at, created_at, updated_at)
SELECT r.id, r.user_id, 'Bench', 'bench reminder', 'daily', r.local_time, r.zone, DATE '2020-01-01',
       true, r.at, now(), now()
FROM unnest($1::uuid[], $2::uuid[], $3::time[], $4::text[], $5::timestamptz[])
    AS r(id, user_id, local_time, zone, at)
"""
# Lag of each notification: commit-side fire time minus when it could first have fired (its due
# time, or when the seeded rows became visible if they were already due then).
LAG = """
WITH l AS (
    SELECT extract(epoch FROM created_at - greatest(occurrence_at, $1::timestamptz)) * 1000 AS ms
    FROM reminders.notifications
)
SELECT count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
       max(ms) AS max
FROM l
"""


def schedule(scenario: str, n: int, rate: float, now: dt.datetime) -> tuple[list[str], list[dt.datetime]]:
    """Zones and due instants (each a real occurrence: a whole minute, local time = the rule's)."""
    rng = random.Random(42)
    minute = now.replace(second=0, microsecond=0)
    if scenario == "backlog":
        return ["Europe/Berlin"] * n, [minute] * n
    zones = [rng.choice(ZONES) for _ in range(n)]
    if scenario == "mixed":
        # Due up to 23 h ago, so each fires once here (its next occurrence is at least an hour ahead).
        return zones, [minute - dt.timedelta(minutes=rng.randrange(23 * 60)) for _ in range(n)]
    # steady: due times are set while seeding, chunk by chunk (see seed_steady)
    return zones, []


def spawn(url: str, batch_size: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    env.update(
        {
            "REMINDERS_DATABASE_URL": url,
            "REMINDERS_SCHEDULER_BATCH_SIZE": str(batch_size),
            "REMINDERS_SCHEDULER_POLL_INTERVAL_SECONDS": "1.0",
        }
    )
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "daybook_reminders.scheduler"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_started(logs: list[Path]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all("scheduler started" in p.read_text(errors="replace") for p in logs):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("schedulers did not start:\n" + "\n".join(p.read_text() for p in logs))


def batch_stats(logs: list[Path]) -> dict[str, Any]:
    claimed = fired = batches = 0
    for p in logs:
        for line in p.read_text(errors="replace").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if item.get("msg") == "batch":
                batches += 1
                claimed += item["claimed"]
                fired += item["fired"]
    return {"batches": batches, "claimed": claimed, "fired": fired}


def local_times_of(zones: list[str], due_at: list[dt.datetime]) -> list[dt.time]:
    return [
        d.astimezone(ZoneInfo(z)).time().replace(second=0, microsecond=0)
        for z, d in zip(zones, due_at, strict=True)
    ]


async def seed_steady(
    admin: asyncpg.Connection, ids: list[uuid.UUID], owners: list[uuid.UUID], zones: list[str], rate: float
) -> None:
    """Insert one second's worth of reminders at a time, each due 2 s or more after it is visible.

    While the schedulers fire, the next chunks keep arriving (like reminders being created).
    Returns when the last chunk is in; the caller then waits for the notifications.
    """
    step = max(1, int(rate))
    next_due = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    for start in range(0, len(ids), step):
        chunk = slice(start, start + step)
        n = len(ids[chunk])
        base = max(next_due, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2))
        due = [base + dt.timedelta(seconds=i / rate) for i in range(n)]
        next_due = base + dt.timedelta(seconds=n / rate)
        await admin.execute(
            SEED, ids[chunk], owners[chunk], local_times_of(zones[chunk], due), zones[chunk], due
        )
        # Stay about 2 s ahead of the schedule, no more.
        await asyncio.sleep(max(0.0, (next_due - dt.datetime.now(dt.UTC)).total_seconds() - 2.0))


async def run_scenario(
    admin_url: str,
    *,
    scenario: str,
    reminders: int,
    schedulers: int,
    batch_size: int,
    rate: float,
    workdir: Path,
) -> dict[str, Any]:
    db = create_test_database(admin_url, prefix="bench")
    try:
        db.migrate(SCHEMA, SCRIPT_LOCATION)
        admin = await asyncpg.connect(db.admin_dsn())
        logs = [workdir / f"{scenario}-{schedulers}-{i}.log" for i in range(schedulers)]
        usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        procs = [spawn(db.url(SCHEMA), batch_size, log) for log in logs]
        try:
            await wait_started(logs)
            ids = [uuid.uuid4() for _ in range(reminders)]
            users = [uuid.uuid4() for _ in range(reminders // 10 or 1)]
            owners = [users[i % len(users)] for i in range(reminders)]
            zones, due_at = schedule(scenario, reminders, rate, dt.datetime.now(dt.UTC))
            if scenario == "steady":
                visible_at = dt.datetime.now(dt.UTC)  # every due time is later than this
                visible = time.perf_counter()
                await seed_steady(admin, ids, owners, zones, rate)
            else:
                await admin.execute(SEED, ids, owners, local_times_of(zones, due_at), zones, due_at)
                visible = time.perf_counter()
                visible_at = dt.datetime.now(dt.UTC)
            await admin.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
            # Polling the database is the measurement itself (commits by other processes).
            while (count := await admin.fetchval("SELECT count(*) FROM reminders.notifications")) < reminders:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - visible
            lag = await admin.fetchrow(LAG, visible_at)
            doubles = await admin.fetchval(
                "SELECT count(*) - count(DISTINCT (reminder_id, occurrence_at)) FROM reminders.notifications"
            )
            assert count == reminders and doubles == 0, (count, doubles)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(30)
            await admin.close()
        stats = batch_stats(logs)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
        return {
            "scenario": scenario,
            "schedulers": schedulers,
            "reminders": reminders,
            "batch_size": batch_size,
            "seconds": round(elapsed, 2),
            # steady: the rate is set by the due times; only the lag is the result
            "fired_per_s": round(reminders / elapsed) if scenario != "steady" else None,
            "lag_p50_ms": round(float(lag["p50"]), 1),
            "lag_p99_ms": round(float(lag["p99"]), 1),
            "lag_max_ms": round(float(lag["max"]), 1),
            # CPU of the scheduler processes (start-up included), per fired reminder: a number
            # that load from other programs on the machine distorts much less than wall time.
            "scheduler_cpu_us_per_reminder": round(cpu / reminders * 1e6, 1),
            **stats,
        }
    finally:
        drop_test_database(db)


def start_postgres(workdir: Path, fsync: bool) -> tuple[Any, str]:
    from daybook_devtools.embedded import EmbeddedPostgres, free_port

    if not fsync:
        os.environ["DAYBOOK_PG_FSYNC_OFF"] = "1"
    server = EmbeddedPostgres(workdir / "pg" / "data", free_port())
    server.start()
    return server, server.admin_url()


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    results = []
    workdir = Path(tempfile.mkdtemp(prefix="reminders-bench-"))
    server = None
    admin_url = args.admin_url
    if admin_url is None:
        server, admin_url = await asyncio.to_thread(start_postgres, workdir, not args.fsync_off)
    try:
        for scenario in args.scenarios:
            for count in args.schedulers:
                for _ in range(args.repeat):
                    result = await run_scenario(
                        admin_url,
                        scenario=scenario,
                        reminders=args.reminders,
                        schedulers=count,
                        batch_size=args.batch_size,
                        rate=args.rate,
                        workdir=workdir,
                    )
                    print(json.dumps(result), flush=True)
                    results.append(result)
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
            shutil.rmtree(workdir / "pg", ignore_errors=True)  # the scheduler logs stay for a look
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--admin-url", help="superuser URL of an existing server (default: embedded PostgreSQL)"
    )
    parser.add_argument("--reminders", type=int, default=50_000)
    parser.add_argument("--schedulers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=["backlog", "mixed", "steady"],
        default=["backlog", "mixed", "steady"],
    )
    parser.add_argument(
        "--rate", type=float, default=2500.0, help="steady scenario: reminders due per second"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--fsync-off", action="store_true", help="embedded server without fsync (like the tests)"
    )
    results = asyncio.run(main_async(parser.parse_args()))
    print()
    print(
        f"{'scenario':9} {'sched':>5} {'n':>7} {'seconds':>8} {'fired/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'cpu us/rem':>10}"
    )
    for r in results:
        print(
            f"{r['scenario']:9} {r['schedulers']:>5} {r['reminders']:>7} {r['seconds']:>8} "
            f"{r['fired_per_s'] or '-':>8} {r['lag_p50_ms']:>8} {r['lag_p99_ms']:>8}"
            f" {r['scheduler_cpu_us_per_reminder']:>10}"
        )


if __name__ == "__main__":
    main()
