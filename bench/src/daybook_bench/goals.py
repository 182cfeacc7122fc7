"""Case 8 (issue 16): goal trees and practice data at scale, read through the gateway.

Seeding (timed, target < 2 min): per user one tree of 30 goals (a root, 5 goals, 24 steps),
5 activities with 2 metric definitions each, and ``sessions_per_tree`` sessions spread over
the last year, each with 5 activity instances (one per activity) and 2 metric values per
instance.  Full mode: 2,000 users x 100 sessions = 1,000,000 instances, 2,000,000 values.
Everything is one ``INSERT … SELECT`` per table as the superuser (one transaction per half of
the users, two connections at once; UUIDv7 ids on PostgreSQL 18) with
``session_replication_role = replica``, as ``pg_restore --disable-triggers`` loads data: the rows are
consistent by construction, so the per-row trigger work (foreign-key checks, the denied-user guard,
the audit trail) is skipped, including the triggers that keep the sessions' activities snapshots
(journal_0018).  The sessions go in last (the foreign keys to them are not checked in that mode),
each with its snapshot: the instances and values just inserted are read back per session with
the journal's own laterals and encoded by its own function
(:func:`daybook_journal.sessions.snapshots.snapshot_of_row`, what the backfill stores), and the
sessions are copied in with them (``COPY``), so no backfill pass (and no second version of every
session row) is needed; then ``VACUUM (ANALYZE)``.

Then, through the gateway with each request another user's token and tree (wrk Lua, a
``token<TAB>path`` file): ``GET /goals/{root}/tree``, ``GET /goals/{root}/sessions?limit=20``,
a 90-day ``stats`` (day buckets) and a one-year ``stats`` (week buckets), each at the plan's
connections, and the one-year ``stats`` also at one connection: the issue's stats target names no
concurrency, and at c=32 a year's stats (~14 ms of PostgreSQL CPU each) is mostly queueing on two
cores, so the target is judged at c=1 (latency without queueing, as case 1 does for the gateway).
CPU per request of each process is reported for every probe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from typing import Any

import aiohttp
import asyncpg

from daybook_bench import cases as c
from daybook_bench.results import CaseResult, Row, Target
from daybook_bench.wrk import Summary, WrkResult
from daybook_journal.sessions.snapshots import INSTANCES_LATERAL, VALUES_LATERAL, snapshot_of_row

GOALS_PATH = "/api/v1/goals"
FULL_USERS, FULL_SESSIONS = 2_000, 100
QUICK_USERS, QUICK_SESSIONS = 200, 10

SEED = """
SET LOCAL synchronous_commit = off;
SET LOCAL session_replication_role = replica;
CREATE TEMP TABLE bench_roots (user_id uuid, id uuid) ON COMMIT DROP;
INSERT INTO bench_roots SELECT u, gen_random_uuid() FROM unnest($1::uuid[]) AS u;
INSERT INTO journal.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version, created_at, updated_at)
    SELECT id, user_id, id, NULL, 0, 'Ultimate goal', 0, 1, now() - interval '400 days', now() FROM bench_roots;
INSERT INTO journal.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version, created_at, updated_at)
    SELECT gen_random_uuid(), r.user_id, r.id, r.id, 1, 'Goal ' || i, i, 1, now() - interval '400 days', now()
    FROM bench_roots AS r, generate_series(1, 5) AS i;
INSERT INTO journal.goals (id, user_id, root_id, parent_id, depth, title, sort_order, version, created_at, updated_at)
    SELECT gen_random_uuid(), p.user_id, p.root_id, p.id, 2, 'Step ' || j, j, 1, now() - interval '400 days', now()
    FROM bench_roots AS r JOIN journal.goals AS p ON p.root_id = r.id AND p.depth = 1,
         generate_series(1, 5) AS j
    WHERE j < 5 OR p.sort_order < 5;
CREATE TEMP TABLE bench_activities ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, r.user_id, r.id AS root_id, i FROM bench_roots AS r, generate_series(1, 5) AS i;
INSERT INTO journal.activities (id, user_id, root_id, goal_id, name, version, created_at, updated_at)
    SELECT id, user_id, root_id, root_id, 'Activity ' || i, 1, now(), now() FROM bench_activities;
CREATE TEMP TABLE bench_metrics ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, a.user_id, a.root_id, a.id AS activity_id, k
    FROM bench_activities AS a, generate_series(1, 2) AS k;
INSERT INTO journal.metric_definitions (id, user_id, root_id, activity_id, name, unit, sort_order, version,
                                        created_at, updated_at)
    SELECT id, user_id, root_id, activity_id, 'Metric ' || k, 'u', k, 1, now(), now() FROM bench_metrics;
CREATE TEMP TABLE bench_sessions ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, r.user_id, r.id AS root_id,
           now() - (k * 365.0 / $2::int) * interval '1 day' AS started_at
    FROM bench_roots AS r, generate_series(1, $2::int) AS k;
CREATE TEMP TABLE bench_instances ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, s.user_id, s.root_id, s.id AS session_id, a.id AS activity_id, a.i
    FROM bench_sessions AS s JOIN bench_activities AS a ON a.root_id = s.root_id;
INSERT INTO journal.activity_instances (id, user_id, root_id, session_id, activity_id, duration_seconds, sort_order,
                                        version, created_at, updated_at)
    SELECT id, user_id, root_id, session_id, activity_id, 300 + 60 * i, i, 1, now(), now() FROM bench_instances;
INSERT INTO journal.metric_values (id, user_id, root_id, instance_id, metric_id, value, created_at, updated_at)
    SELECT gen_random_uuid(), i.user_id, i.root_id, i.id, m.id, 10 * m.k + i.i, now(), now()
    FROM bench_instances AS i JOIN bench_metrics AS m ON m.activity_id = i.activity_id
"""
#: The sessions of some of the share's users with their instances' and values' arrays (inserted
#: already), for their snapshots.
SESSIONS_TO_WRITE = f"""
SELECT ses.id, ses.user_id, ses.root_id, ses.started_at, ins.*, val.*
FROM bench_sessions AS ses
{INSTANCES_LATERAL.format(only="")}
{VALUES_LATERAL}
WHERE ses.user_id = ANY ($1::uuid[])
"""
SESSION_COLUMNS = (
    "id", "user_id", "root_id", "goal_id", "title", "started_at", "version", "created_at", "updated_at",
    "activities_json",
)  # fmt: skip
#: Users whose sessions are read, encoded and copied at a time (bounds the Python memory).
USERS_PER_COPY = 100
TABLES = ("goals", "activities", "metric_definitions", "sessions", "activity_instances", "metric_values")


#: Connections seeding at once, each a share of the users in its own transaction (2 cores).
SEED_CONNECTIONS = 2


async def seed_goals(
    admin_dsn: str, user_ids: list[uuid.UUID], sessions_per_tree: int, connections: int = SEED_CONNECTIONS
) -> dict[uuid.UUID, uuid.UUID]:
    """One practice tree per user (see the module docstring); returns user id → root goal id.

    Ids are UUIDv7 where the server has ``uuidv7()`` (PostgreSQL 18), as the services make them:
    time-ordered keys append to the primary-key and ``(id, …)`` indexes instead of landing on
    random pages of indexes that outgrow the cache.
    """
    conn = await asyncpg.connect(admin_dsn)
    try:
        version = int(await conn.fetchval("SHOW server_version_num"))
        seed = SEED.replace("$2::int", str(int(sessions_per_tree)))  # an int, written into the SQL
        if version >= 180000:
            seed = seed.replace("gen_random_uuid()", "uuidv7()")
        shares = [user_ids[i::connections] for i in range(connections)]
        await asyncio.gather(*(_seed_share(admin_dsn, seed, share) for share in shares if share))
        rows = await conn.fetch(
            "SELECT user_id, id FROM journal.goals WHERE user_id = ANY($1::uuid[]) AND parent_id IS NULL",
            user_ids,
        )
        for table in TABLES:
            await conn.execute(f"VACUUM (ANALYZE) journal.{table}")
    finally:
        await conn.close()
    return {r["user_id"]: r["id"] for r in rows}


async def _seed_share(admin_dsn: str, seed: str, user_ids: list[uuid.UUID]) -> None:
    """The trees of ``user_ids`` in one transaction (the user ids are the one parameter)."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        async with conn.transaction():
            for statement in seed.split(";\n"):
                await conn.execute(statement, *([user_ids] if "$1" in statement else []))
            now = await conn.fetchval("SELECT now()")
            for i in range(0, len(user_ids), USERS_PER_COPY):
                rows = await conn.fetch(SESSIONS_TO_WRITE, user_ids[i : i + USERS_PER_COPY])
                records = [
                    (r["id"], r["user_id"], r["root_id"], r["root_id"], "Practice", r["started_at"], 1, now, now,
                     snapshot_of_row(r))
                    for r in rows
                ]  # fmt: skip
                await conn.copy_records_to_table(
                    "sessions", schema_name="journal", columns=SESSION_COLUMNS, records=records
                )
    finally:
        await conn.close()


async def count_instances(admin_dsn: str) -> int:
    conn = await asyncpg.connect(admin_dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM journal.activity_instances"))
    finally:
        await conn.close()


def _paths(root: uuid.UUID, now: dt.datetime) -> dict[str, str]:
    def stats(days: int, bucket: str) -> str:
        start = (now - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{GOALS_PATH}/{root}/stats?from={start}&to={now:%Y-%m-%dT%H:%M:%SZ}&bucket={bucket}"

    return {
        "tree": f"{GOALS_PATH}/{root}/tree",
        "sessions": f"{GOALS_PATH}/{root}/sessions?limit=20",
        "stats90": stats(90, "day"),
        "stats365": stats(365, "week"),
    }


async def case_goals(ctx: c.Context, result: CaseResult) -> None:
    quick = ctx.plan is c.QUICK
    users = ctx.user_ids[: QUICK_USERS if quick else FULL_USERS]
    sessions = QUICK_SESSIONS if quick else FULL_SESSIONS
    ctx.say(f"  seeding {len(users):,} goal trees with {len(users) * sessions * 5:,} activity instances…")
    began = time.perf_counter()
    roots = await seed_goals(ctx.stack.admin_dsn, users, sessions)
    seed_s = time.perf_counter() - began
    instances = await count_instances(ctx.stack.admin_dsn)
    tokens = ctx.stack.mint_tokens(users)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)
    files: dict[str, list[str]] = {name: [] for name in _paths(uuid.uuid4(), now)}
    for user, token in zip(users, tokens, strict=True):
        for name, path in _paths(roots[user], now).items():
            files[name].append(f"{token}\t{path}")
    probes: dict[str, c.Probe] = {}
    for name, lines in files.items():
        random.Random(9).shuffle(lines)
        file = ctx.workdir / f"goals-{name}.txt"
        file.write_text("\n".join(lines) + "\n")
        first_path = lines[0].split("\t")[1]  # distinct per probe (each gets its own warm-up)
        probes[name] = (
            ctx.stack.gateway_url + first_path,
            ctx.plan.connections,
            {"DAYBOOK_TOKENS_FILE": str(file)},
        )
    url, _, env = probes["stats365"]
    probes["stats365_c1"] = (url, 1, env)  # the same requests, one connection (shares the warm-up)
    await _sanity(ctx, files)
    runs, usage = await c.interleaved(ctx, probes)
    rows = {
        "tree": Row.of_wrk(f"GET /goals/{{root}}/tree, 30 goals (c={ctx.plan.connections})", runs["tree"]),
        "sessions": Row.of_wrk(
            f"GET /goals/{{root}}/sessions?limit=20 (c={ctx.plan.connections})", runs["sessions"]
        ),
        "stats90": Row.of_wrk(
            f"GET /goals/{{root}}/stats, 90 days by day (c={ctx.plan.connections})", runs["stats90"]
        ),
        "stats365": Row.of_wrk(
            f"GET /goals/{{root}}/stats, a year by week (c={ctx.plan.connections})", runs["stats365"]
        ),
        "stats365_c1": Row.of_wrk(
            "GET /goals/{root}/stats, a year by week (c=1, latency without queueing)", runs["stats365_c1"]
        ),
    }
    cpu_rows = [
        c.cpu_row(rows[name].measure.removeprefix("GET /goals/{root}/"), usage[name]) for name in rows
    ]
    result.rows += [
        Row("seeding (goals, activities, sessions, instances, values)", Summary.of([seed_s]), "s"),
        Row("activity instances in the database", text=f"{instances:,}"),
        *rows.values(),
        *cpu_rows,
    ]
    result.targets += [
        Target("seeding < 2 min", seed_s, "<=", 120, "s"),
        Target("tree p99 ≤ 30 ms", _p99(runs["tree"]), "<=", 30, "ms"),
        Target("sessions page p99 ≤ 30 ms", _p99(runs["sessions"]), "<=", 30, "ms"),
        Target("stats over a year p50 ≤ 50 ms (c=1)", _p50(runs["stats365_c1"]), "<=", 50, "ms"),
    ]
    result.notes.append(
        f"{len(users):,} users, each one tree of 30 goals, 5 activities x 2 metrics, {sessions} sessions over a "
        "year x 5 instances x 2 values; every request is another user's token and tree (wrk Lua)."
    )


def _p99(runs: list[WrkResult]) -> float:
    return Summary.of([r.p99_ms for r in runs]).median


def _p50(runs: list[WrkResult]) -> float:
    return Summary.of([r.p50_ms for r in runs]).median


async def _sanity(ctx: c.Context, files: dict[str, list[str]]) -> None:
    """One request of each kind: the right status and a plausible body, or the case fails."""
    async with aiohttp.ClientSession() as session:
        for name, lines in files.items():
            token, path = lines[0].split("\t")
            body: Any = await c._expect(
                session,
                "GET",
                ctx.stack.gateway_url + path,
                200,
                headers={"Authorization": f"Bearer {token}"},
            )
            if name == "tree" and len(body["children"]) != 5:
                raise RuntimeError(f"tree has {len(body['children'])} children, expected 5")
            if name == "sessions" and len(body["items"]) < min(20, QUICK_SESSIONS):
                raise RuntimeError(f"sessions page has {len(body['items'])} items")
            if name.startswith("stats") and not body["items"]:
                raise RuntimeError("stats returned no items")
