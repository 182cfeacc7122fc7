"""The seven cases of issue 8. Each: a warm-up, then ``rounds`` timed rounds; medians and min-max.

HTTP load comes from ``wrk`` (one thread, 32 connections unless stated). Where a case compares
targets (direct vs gateway vs nginx) the rounds are interleaved, so drift on a shared machine
hits every target alike and the ratios are measured in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import statistics
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from daybook_bench import cpu, data, procs
from daybook_bench.audit import audit_row_cost
from daybook_bench.results import TIMES, CaseResult, Row, Target
from daybook_bench.stack import BenchStack
from daybook_bench.wrk import Summary, WrkResult, run_wrk

ENTRIES_PATH = "/api/v1/journal/entries"
PROBE_PATH = "/api/v1/auth/jwks"  # public, answered by the users service from memory
BARE_LITESTAR_PROXIED = 4_593  # req/s: one 20-row asyncpg query behind Litestar (issue 8)
BARE_LITESTAR_HEALTH = 22_955  # req/s: a bare Litestar app on Granian (issue 8 / ARCHITECTURE.md)


@dataclass(frozen=True)
class Plan:
    """Sizes and durations of one mode (``--quick`` or full)."""

    users: int
    entries_per_user: int
    tags_per_user: int
    warmup_s: float
    """wrk's warm-up run before the timed rounds (0: none; quick mode, to stay under 2 minutes)."""
    round_s: float
    connections: int = 32
    reminders: int = 50_000
    reminders_warmup: int = 5_000
    steady_reminders: int = 10_000
    steady_rate: float = 2_500.0
    erase_entries: int = 100_000
    """Entries of the user case 6 erases (issue #23: 100,000 in ≤ 5 s end to end)."""
    erase_tags: int = 50
    erase_reminders: int = 100
    floor_queries: int = 5_000
    logins: int = 50
    login_connections: int = 8
    startup_rounds: int | None = None
    """Warm starts of case 15 (None: ``--rounds``); each is a whole ``daybook up`` and stop (0:
    the cold start only, quick mode)."""


FULL = Plan(users=10_000, entries_per_user=100, tags_per_user=5, warmup_s=3, round_s=5)
QUICK = Plan(
    users=200,
    entries_per_user=20,
    tags_per_user=5,
    warmup_s=0,
    round_s=1,
    reminders=2_000,
    reminders_warmup=300,
    steady_reminders=500,
    steady_rate=500.0,
    erase_entries=500,
    erase_tags=10,
    erase_reminders=20,
    floor_queries=1_000,
    logins=10,
    startup_rounds=0,
)


@dataclass
class Context:
    plan: Plan
    rounds: int
    stack: BenchStack
    workdir: Path
    say: Callable[[str], None]
    user_ids: list[uuid.UUID] = field(default_factory=list)
    tokens_file: Path | None = None
    floor_us: Summary | None = None
    """Case 7's result, for case 2's ratio."""
    direct_read: Summary | None = None
    """Case 2's direct req/s, for the same ratio when case 7 runs later."""
    tokens_warm: bool = False


Probe = tuple[str, int, dict[str, str]]  # url, connections, wrk script env


async def _wrk(url: str, connections: int, env: dict[str, str], duration: float) -> WrkResult:
    return await asyncio.to_thread(run_wrk, url, duration=duration, connections=connections, env=env)


CpuRuns = dict[str, list[dict[str, float]]]
"""Per probe, per timed round: CPU µs per request of each process tree (and of wrk)."""


async def interleaved(
    ctx: Context,
    probes: dict[str, Probe],
    warmup: float | None = None,
    extra_roots: dict[str, int] | None = None,
    *,
    alternate: bool = False,
) -> tuple[dict[str, list[WrkResult]], CpuRuns]:
    """A warm-up run of each probe, then ``rounds`` rounds that run every probe once, in turn.

    ``alternate``: every other round runs the probes in reverse order, so that an A/B pair is
    not always measured A first (what runs first in a round can meet other load than what
    runs last)."""
    plan = ctx.plan
    warmup = warmup if warmup is not None else plan.warmup_s
    warmed: set[str] = set()
    for url, connections, env in probes.values():
        if warmup > 0 and url not in warmed:  # the c=1 and c=32 probes of one URL share a warm-up
            warmed.add(url)
            await _wrk(url, max(connections, plan.connections), env, warmup)
    roots = {**ctx.stack.process_roots(), **(extra_roots or {})}
    results: dict[str, list[WrkResult]] = {name: [] for name in probes}
    usage: CpuRuns = {name: [] for name in probes}
    order = list(probes.items())
    for index in range(ctx.rounds):
        for name, (url, connections, env) in reversed(order) if alternate and index % 2 else order:
            before = {**cpu.tree_ticks(roots), "wrk": cpu.self_children_ticks()}
            run = await _wrk(url, connections, env, plan.round_s)
            after = {**cpu.tree_ticks(roots), "wrk": cpu.self_children_ticks()}
            results[name].append(run)
            usage[name].append(cpu.per_request_us(before, after, run.requests))
    return results, usage


def cpu_row(label: str, runs: list[dict[str, float]]) -> Row:
    """Median CPU µs per request of each process, and the throughput all CPUs could give at that cost."""
    names = sorted({name for run in runs for name in run})
    medians = {name: statistics.median(run.get(name, 0.0) for run in runs) for name in names}
    shown = {name: us for name, us in medians.items() if us >= 5}
    total = sum(medians.values())
    cpus = os.cpu_count() or 1
    parts = " + ".join(f"{name} {us:,.0f}" for name, us in sorted(shown.items(), key=lambda kv: -kv[1]))
    text = f"{parts} = {total:,.0f} µs → ≤ {cpus * 1e6 / total:,.0f} req/s on {cpus} CPUs" if total else "n/a"
    return Row(f"CPU per request, {label}", text=text)


async def _expect(session: aiohttp.ClientSession, method: str, url: str, status: int, **kwargs: Any) -> Any:
    """One request that must answer ``status`` (the harness's own sanity check before loading)."""
    async with session.request(method, url, **kwargs) as response:
        body = await response.read()
        if response.status != status:
            raise RuntimeError(
                f"{method} {url} answered {response.status}, expected {status}: {body[:300]!r}"
            )
        return json.loads(body) if body else None


async def warm_tokens(ctx: Context, connections: int = 32, gateway: str | None = None) -> None:
    """One request per token through the gateway, so the gateway's and the journal's verifiers have
    checked every token's ES256 signature once (they cache verified tokens until expiry, as they
    would for a real user's many requests); timed rounds then measure the steady state.
    ``gateway``: another gateway than the stack's (a case's own; warmed every time)."""
    if (ctx.tokens_warm and gateway is None) or ctx.tokens_file is None:
        return
    tokens = ctx.tokens_file.read_text().split()
    url = (gateway or ctx.stack.gateway_url) + ENTRIES_PATH + "?limit=1"
    queue: asyncio.Queue[str] = asyncio.Queue()
    for token in tokens:
        queue.put_nowait(token)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                token = queue.get_nowait()
                await _expect(session, "GET", url, 200, headers={"Authorization": f"Bearer {token}"})

        await asyncio.gather(*(worker() for _ in range(connections)))
    if gateway is None:
        ctx.tokens_warm = True


def _ratios(a: list[WrkResult], b: list[WrkResult]) -> Summary:
    """Per-round throughput ratio a/b (rounds are interleaved, so round i of both ran side by side)."""
    return Summary.of([x.requests_per_s / y.requests_per_s for x, y in zip(a, b, strict=True)])


def _added_p50(a: list[WrkResult], b: list[WrkResult]) -> Summary:
    """Per-round p50 of a minus p50 of b, in ms (interleaved rounds, as in :func:`_ratios`)."""
    return Summary.of([x.p50_ms - y.p50_ms for x, y in zip(a, b, strict=True)])


def yardstick(ctx: Context) -> contextlib.AbstractContextManager[procs.Served]:
    """The bare Litestar app of :mod:`daybook_bench.reference`, on the stack's database."""
    users_file = ctx.workdir / "users.txt"
    users_file.write_text("\n".join(str(u) for u in ctx.user_ids) + "\n")
    return procs.reference_server(ctx.stack.role_url("journal"), users_file, ctx.workdir / "reference.log")


# --- case 1 ------------------------------------------------------------------------------------


async def case_gateway_overhead(ctx: Context, result: CaseResult) -> None:
    stack = ctx.stack
    users = stack.service_url("users")
    journal = stack.service_url("journal")
    gateway = stack.gateway_url
    c = ctx.plan.connections
    probes: dict[str, Probe] = {
        "health_direct": (journal + "/health", c, {}),
        "health_gateway": (gateway + "/health", c, {}),
        "proxied_direct": (users + PROBE_PATH, c, {}),
        "proxied_gateway": (gateway + PROBE_PATH, c, {}),
        "proxied_direct_c1": (users + PROBE_PATH, 1, {}),
        "proxied_gateway_c1": (gateway + PROBE_PATH, 1, {}),
    }
    binary = procs.find_nginx()
    with_nginx = binary is not None
    nginx_cm = procs.nginx(binary, ctx.workdir / "nginx", users.removeprefix("http://")) if binary else None
    extra_roots: dict[str, int] = {}
    bare = yardstick(ctx)
    try:
        bare_served = bare.__enter__()
        extra_roots["yardstick"] = bare_served.pid
        probes["health_bare"] = (bare_served.url + "/health", c, {})
        if nginx_cm is not None:
            served = nginx_cm.__enter__()
            extra_roots["nginx"] = served.pid
            probes["proxied_nginx"] = (served.url + PROBE_PATH, c, {})
            probes["proxied_nginx_c1"] = (served.url + PROBE_PATH, 1, {})
            result.extra["nginx"] = procs.nginx_version(binary or "nginx")
        async with aiohttp.ClientSession() as session:
            for url, _, _ in probes.values():
                await _expect(session, "GET", url, 200)
        runs, usage = await interleaved(ctx, probes, extra_roots=extra_roots)
    finally:
        if nginx_cm is not None:
            nginx_cm.__exit__(None, None, None)
        bare.__exit__(None, None, None)

    result.rows += [
        Row.of_wrk(
            f"yardstick: GET /health of a bare Litestar app on Granian (issue: {BARE_LITESTAR_HEALTH:,}) (c={c})",
            runs["health_bare"],
        ),
        Row.of_wrk(f"GET /health direct to journal (c={c})", runs["health_direct"]),
        Row.of_wrk(f"GET /health of the gateway itself (c={c})", runs["health_gateway"]),
        Row.of_wrk(f"proxied GET {PROBE_PATH}: direct to users (c={c})", runs["proxied_direct"]),
        Row.of_wrk(f"… through the gateway (c={c})", runs["proxied_gateway"]),
    ]
    if with_nginx:
        result.rows.append(
            Row.of_wrk(f"… through nginx, 1 worker, keep-alive (c={c})", runs["proxied_nginx"])
        )
    result.rows += [
        Row.of_wrk("… direct, c=1 (latency without queueing)", runs["proxied_direct_c1"]),
        Row.of_wrk("… through the gateway, c=1", runs["proxied_gateway_c1"]),
    ]
    if with_nginx:
        result.rows.append(Row.of_wrk("… through nginx, c=1", runs["proxied_nginx_c1"]))
    gw_direct = _ratios(runs["proxied_gateway"], runs["proxied_direct"])
    result.rows.append(Row("ratio gateway / direct (req/s)", gw_direct, TIMES))
    added = _added_p50(runs["proxied_gateway_c1"], runs["proxied_direct_c1"])
    result.rows.append(Row("added p50 by the gateway, c=1", added, "ms"))
    gw_nginx: Summary | None = None
    if with_nginx:
        gw_nginx = _ratios(runs["proxied_gateway"], runs["proxied_nginx"])
        result.rows.append(Row("ratio gateway / nginx (req/s)", gw_nginx, TIMES))
        nginx_added = _added_p50(runs["proxied_nginx_c1"], runs["proxied_direct_c1"])
        result.rows.append(Row("added p50 by nginx, c=1", nginx_added, "ms"))
    else:
        result.notes.append("nginx is not installed: the gateway/nginx ratio is n/a")
    result.rows.append(cpu_row(f"direct (c={c})", usage["proxied_direct"]))
    result.rows.append(cpu_row(f"through the gateway (c={c})", usage["proxied_gateway"]))
    if with_nginx:
        result.rows.append(cpu_row(f"through nginx (c={c})", usage["proxied_nginx"]))
    result.extra["cpu_us_per_request"] = usage
    result.targets += [
        Target(
            "gateway req/s ≥ 0.5x nginx's",
            gw_nginx.median if gw_nginx else None,
            ">=",
            0.5,
            TIMES,
            note="" if with_nginx else "nginx not installed",
        ),
        Target("added p50 ≤ 1 ms (c=1)", added.median, "<=", 1.0, "ms"),
    ]
    result.notes.append(
        "The gateway answers /health itself (it is not proxied), so the proxy comparison uses a "
        f"public upstream route, GET {PROBE_PATH} (users, from memory), identical for direct, gateway and nginx."
    )


# --- case 2 ------------------------------------------------------------------------------------


async def case_hot_read(ctx: Context, result: CaseResult) -> None:
    assert ctx.tokens_file is not None
    c = ctx.plan.connections
    env = {"DAYBOOK_TOKENS_FILE": str(ctx.tokens_file)}
    query = f"{ENTRIES_PATH}?limit=20"
    with yardstick(ctx) as served:
        probes: dict[str, Probe] = {
            "gateway": (ctx.stack.gateway_url + query, c, env),
            "direct": (ctx.stack.service_url("journal") + query, c, env),
            "reference": (served.url + "/entries", c, {}),
        }
        token = ctx.tokens_file.read_text().split("\n", 1)[0]
        want = min(20, ctx.plan.entries_per_user)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            for url, _, _ in probes.values():
                page = await _expect(session, "GET", url, 200)
                if len(page["items"]) < want:
                    raise RuntimeError(f"GET {url} returned {len(page['items'])} entries, expected {want}")
        ctx.say(f"  one request per token ({len(ctx.user_ids):,}) so the verifiers have seen each once…")
        await warm_tokens(ctx)
        runs, usage = await interleaved(ctx, probes, extra_roots={"yardstick": served.pid})
    gw = Row.of_wrk(f"GET {query} through the gateway (c={c})", runs["gateway"])
    direct = Row.of_wrk(f"GET {query} direct to journal (c={c})", runs["direct"])
    ref = Row.of_wrk(f"yardstick: bare Litestar + the same statement, no auth/log (c={c})", runs["reference"])
    result.rows += [
        gw,
        direct,
        ref,
        Row("ratio gateway / direct (req/s)", _ratios(runs["gateway"], runs["direct"]), TIMES),
        Row("ratio direct / yardstick (req/s)", _ratios(runs["direct"], runs["reference"]), TIMES),
        cpu_row("through the gateway", usage["gateway"]),
        cpu_row("direct", usage["direct"]),
        cpu_row("yardstick", usage["reference"]),
    ]
    result.extra["cpu_us_per_request"] = usage
    assert gw.value is not None and gw.p99 is not None and direct.value is not None and ref.value is not None
    ctx.direct_read = direct.value
    floor_row(ctx, result)
    result.targets += [
        Target("through the gateway ≥ 2,200 req/s", gw.value.median, ">=", 2_200, "req/s"),
        Target("through the gateway p99 ≤ 30 ms", gw.p99.median, "<=", 30, "ms"),
        Target(
            f"direct ≥ 0.8x {BARE_LITESTAR_PROXIED:,} req/s",
            direct.value.median,
            ">=",
            0.8 * BARE_LITESTAR_PROXIED,
            "req/s",
        ),
        Target(
            "direct ≥ 0.8x the yardstick measured in this run",
            _ratios(runs["direct"], runs["reference"]).median,
            ">=",
            0.8,
            TIMES,
        ),
    ]
    result.notes.append(
        f"{ctx.plan.users:,} users x {ctx.plan.entries_per_user} entries; each request carries the next "
        f"of {len(ctx.user_ids):,} users' tokens (wrk Lua), so every page is another user's. The yardstick "
        "is the issue's '20-row asyncpg query behind Litestar' (4,593 req/s when it was written), re-measured "
        "here so the 0.8x target can be read as a ratio independent of the machine's load."
    )


def floor_row(ctx: Context, result: CaseResult) -> None:
    """Case 2's direct throughput against case 7's sequential database floor (1e6 / µs per query)."""
    if (
        ctx.floor_us is None
        or ctx.direct_read is None
        or any(r.measure.startswith("direct / DB") for r in result.rows)
    ):
        return
    floor_qps = 1e6 / ctx.floor_us.median
    result.rows.append(
        Row(
            "direct / DB floor (case 7: one connection, sequential)",
            Summary(
                ctx.direct_read.median / floor_qps,
                ctx.direct_read.low / floor_qps,
                ctx.direct_read.high / floor_qps,
            ),
            TIMES,
        )
    )


# --- case 3 ------------------------------------------------------------------------------------


async def case_write(ctx: Context, result: CaseResult) -> None:
    assert ctx.tokens_file is not None
    c = ctx.plan.connections
    marker = f"bench write {uuid.uuid4().hex[:8]}"
    body = json.dumps(
        {"entry_date": "2026-01-22T10:00:00Z", "title": marker, "content": "A benchmark write."}
    )
    env = {"DAYBOOK_TOKENS_FILE": str(ctx.tokens_file), "DAYBOOK_METHOD": "POST", "DAYBOOK_BODY": body}
    url = ctx.stack.gateway_url + ENTRIES_PATH
    token = ctx.tokens_file.read_text().split("\n", 1)[0]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        await _expect(session, "POST", url, 201, data=body, headers={"Content-Type": "application/json"})
    await warm_tokens(ctx)
    runs, usage = await interleaved(ctx, {"write": (url, c, env)})
    # The warm-up's and the check's rows count too: every 2xx must be a row.
    conn = await asyncpg.connect(ctx.stack.admin_dsn)
    try:
        rows = await conn.fetchval("SELECT count(*) FROM journal.journal_entries WHERE title = $1", marker)
    finally:
        await conn.close()
    row = Row.of_wrk(f"POST {ENTRIES_PATH} through the gateway (c={c})", runs["write"])
    result.rows += [row, cpu_row("write", usage["write"])]
    result.extra["cpu_us_per_request"] = usage
    timed_ok = sum(r.requests - r.non_2xx for r in runs["write"])
    result.rows.append(
        Row("rows in journal.journal_entries afterwards", text=f"{rows:,} (timed 201s: {timed_ok:,})")
    )
    result.extra["rows_written"] = rows
    result.extra["timed_created"] = timed_ok
    if rows < timed_ok:
        result.rows[-1].problems.append("fewer rows than 201 answers")
    assert row.value is not None
    result.notes.append(
        "Rows ≥ 201s: the warm-up's rows count too, and requests in flight when wrk stops may commit."
    )
    result.rows += await audit_row_cost(ctx.stack.admin_dsn, ctx.rounds)
    result.notes.append(
        "Audit rows: 20,000-row statements on journal.tags in the database, the audit trigger enabled "
        "and disabled in alternate rounds (daybook_bench.audit); the difference is its cost per changed row."
    )


# --- case 4 ------------------------------------------------------------------------------------

REMAINING_DUE = """
SELECT count(*) FROM reminders.reminders
WHERE is_active AND deleted_at IS NULL AND next_fire_at <= $1 AND title = $2
"""
FIRED = """
SELECT count(*) AS n,
       count(DISTINCT reminder_id) AS reminders,
       count(*) - count(DISTINCT (reminder_id, occurrence_at)) AS doubles,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - greatest(occurrence_at, $2))) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM created_at - greatest(occurrence_at, $2))) AS p99
FROM reminders.notifications WHERE title = $1
"""


@dataclass
class Firing:
    count: int
    seconds: float
    notifications: int
    distinct_reminders: int
    doubles: int
    lag_p50_ms: float
    lag_p99_ms: float

    @property
    def per_s(self) -> float:
        return self.count / self.seconds


async def _poll(check: Callable[[], Awaitable[bool]], limit_s: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {limit_s:.0f}s")
        await asyncio.sleep(every)


async def _fire_round(
    conn: asyncpg.Connection, owners: list[uuid.UUID], count: int, title: str, *, rate: float | None = None
) -> Firing:
    """Insert ``count`` reminders (all due now, or due one after another at ``rate``/s), wait for all."""
    now = dt.datetime.now(dt.UTC)
    if rate is None:
        due = [now.replace(second=0, microsecond=0)] * count
        horizon = now
    else:
        start = now + dt.timedelta(seconds=1)
        due = [start + dt.timedelta(seconds=i / rate) for i in range(count)]
        horizon = due[-1]
    await data.insert_reminders(conn, count, owners, due, title, seed=zlib.crc32(title.encode()))
    visible = time.perf_counter()
    visible_at = dt.datetime.now(dt.UTC)
    await conn.execute("SELECT pg_notify('reminders_changed', '')")

    async def done() -> bool:
        if dt.datetime.now(dt.UTC) < horizon:
            return False
        remaining: int = await conn.fetchval(REMAINING_DUE, horizon, title)
        return remaining == 0

    await _poll(done, 120 + count / 500, f"firing {count:,} reminders")
    seconds = time.perf_counter() - visible
    row = await conn.fetchrow(FIRED, title, visible_at)
    if row is None:  # an aggregate always answers one row
        raise RuntimeError("the firing summary query returned no row")
    return Firing(
        count=count,
        seconds=seconds,
        notifications=row["n"],
        distinct_reminders=row["reminders"],
        doubles=row["doubles"],
        lag_p50_ms=float(row["p50"] or 0) * 1000,
        lag_p99_ms=float(row["p99"] or 0) * 1000,
    )


async def _clean(conn: asyncpg.Connection, title: str) -> None:
    await conn.execute("DELETE FROM reminders.reminders WHERE title = $1", title)  # notifications cascade
    await conn.execute("VACUUM (ANALYZE) reminders.reminders, reminders.notifications")


async def case_scheduler(ctx: Context, result: CaseResult) -> None:
    plan = ctx.plan
    url = ctx.stack.role_url("reminders")
    owners = ctx.user_ids[: max(1, len(ctx.user_ids))]
    conn = await asyncpg.connect(ctx.stack.admin_dsn)
    checks: list[str] = []
    exact = True
    backlog: dict[int, list[Firing]] = {}
    steady: list[Firing] = []
    try:
        for schedulers in (1, 2):
            logs = [ctx.workdir / f"scheduler-{schedulers}-{i}.log" for i in range(schedulers)]
            running = [procs.spawn_scheduler(url, log) for log in logs]
            try:
                await asyncio.to_thread(procs.wait_started, running, logs)
                title = f"bench-sched-{schedulers}-warmup"
                await _fire_round(conn, owners, plan.reminders_warmup, title)
                await _clean(conn, title)
                backlog[schedulers] = []
                for n in range(ctx.rounds):
                    title = f"bench-sched-{schedulers}-{n}"
                    ctx.say(f"  {schedulers} scheduler(s), round {n + 1}: {plan.reminders:,} due at once")
                    firing = await _fire_round(conn, owners, plan.reminders, title)
                    backlog[schedulers].append(firing)
                    await _clean(conn, title)
                if schedulers == 2:
                    for n in range(ctx.rounds):
                        title = f"bench-steady-{n}"
                        ctx.say(
                            f"  2 schedulers, steady round {n + 1}: {plan.steady_reminders:,} at {plan.steady_rate:,.0f}/s"
                        )
                        steady.append(
                            await _fire_round(
                                conn, owners, plan.steady_reminders, title, rate=plan.steady_rate
                            )
                        )
                        await _clean(conn, title)
            finally:
                for proc in running:
                    procs.stop_group(proc, timeout=30)
    finally:
        await conn.close()
    for schedulers, firings in backlog.items():
        result.rows.append(
            Row(
                f"{plan.reminders:,} due at once, {schedulers} scheduler{'s' if schedulers > 1 else ''}: fired/s; lag",
                Summary.of([f.per_s for f in firings]),
                "fired/s",
                p50=Summary.of([f.lag_p50_ms for f in firings]),
                p99=Summary.of([f.lag_p99_ms for f in firings]),
            )
        )
    result.rows.append(
        Row(
            f"{plan.steady_reminders:,} due one after another at {plan.steady_rate:,.0f}/s, 2 schedulers: lag",
            text=f"all fired, {plan.steady_rate:,.0f}/s",
            p50=Summary.of([f.lag_p50_ms for f in steady]),
            p99=Summary.of([f.lag_p99_ms for f in steady]),
        )
    )
    for firings in [*backlog.values(), steady]:
        for f in firings:
            if f.notifications != f.count or f.distinct_reminders != f.count or f.doubles:
                exact = False
                checks.append(f"{f.notifications:,} notifications for {f.count:,} ({f.doubles} doubled)")
    total = sum(f.count for firings in [*backlog.values(), steady] for f in firings)
    summary_text = (
        f"each round exactly one per reminder ({total:,} in all), 0 duplicates"
        if exact
        else "; ".join(checks)
    )
    result.rows.append(Row("notifications = reminders, none duplicated", text=summary_text))
    if not exact:
        result.rows[-1].problems.append("count mismatch")
    two = Summary.of([f.per_s for f in backlog[2]])
    result.targets += [
        # Issue #23's raised targets (were ≥ 5,000 fired/s and ≤ 1 s).
        Target("2 schedulers ≥ 20,000 fired/s", two.median, ">=", 20_000, "fired/s"),
        Target(
            "p99 lag ≤ 100 ms (steady)",
            Summary.of([f.lag_p99_ms for f in steady]).median,
            "<=",
            100.0,
            "ms",
        ),
    ]
    result.extra["exactly_once"] = exact
    result.notes.append(
        "Lag = notification created_at (the batch's claim time) - max(due time, time the rows became visible). "
        "With everything due at once the lag is queueing (the last waits for all), so the ≤ 100 ms target "
        f"is checked on reminders due one after another ({plan.steady_rate:,.0f}/s)."
    )


# --- case 5 ------------------------------------------------------------------------------------


async def case_login(ctx: Context, result: CaseResult) -> None:
    plan = ctx.plan
    url = ctx.stack.gateway_url + "/api/v1/auth/login"
    body = json.dumps({"email": data.EMAIL_TEMPLATE.format(i=0), "password": data.PASSWORD})
    headers = {"Content-Type": "application/json"}
    rounds: list[list[float]] = []
    async with aiohttp.ClientSession() as session:
        for _ in range(3):  # warm-up
            await _expect(session, "POST", url, 200, data=body, headers=headers)
        for _ in range(ctx.rounds):
            samples = []
            for _ in range(plan.logins):
                started = time.perf_counter()
                await _expect(session, "POST", url, 200, data=body, headers=headers)
                samples.append((time.perf_counter() - started) * 1000)
            rounds.append(sorted(samples))

    def pct(samples: list[float], q: float) -> float:
        return samples[min(len(samples) - 1, max(0, round(q * (len(samples) - 1))))]

    result.rows.append(
        Row(
            f"{plan.logins} sequential logins through the gateway",
            Summary.of([len(s) / (sum(s) / 1000) for s in rounds]),
            "logins/s",
            p50=Summary.of([statistics.median(s) for s in rounds]),
            p95=Summary.of([pct(s, 0.95) for s in rounds]),
            p99=Summary.of([pct(s, 0.99) for s in rounds]),
        )
    )
    env = {"DAYBOOK_METHOD": "POST", "DAYBOOK_BODY": body}
    c = plan.login_connections
    runs, usage = await interleaved(ctx, {"login": (url, c, env)})
    row = Row.of_wrk(f"POST /api/v1/auth/login through the gateway (c={c})", runs["login"])
    result.rows += [row, cpu_row("login", usage["login"])]
    result.extra["cpu_us_per_request"] = usage
    from daybook_users.settings import Settings

    p = Settings.from_env().passwords
    result.notes.append(
        f"argon2id m={p.memory_kib} KiB, t={p.time_cost}, p={p.parallelism} (the service's defaults); "
        "the gateway's rate limits are off for this run (GATEWAY_RATE_LIMITS=off)."
    )


# --- case 6 ------------------------------------------------------------------------------------

# Every table with a user_id column but the deny-lists (``denied_users``), which keep an erased
# account's id on purpose: it is how a late write of that account is refused.
USER_TABLES = """
SELECT c.table_schema, c.table_name FROM information_schema.columns AS c
JOIN information_schema.tables AS t USING (table_schema, table_name)
WHERE c.column_name = 'user_id' AND c.table_schema IN ('users', 'journal', 'reminders')
  AND t.table_type = 'BASE TABLE' AND c.table_name <> 'denied_users'
ORDER BY 1, 2
"""


async def _erase_once(
    ctx: Context, conn: asyncpg.Connection, entries: int, tags: int, reminders: int, n: int
) -> tuple[float, float, dict[str, int]]:
    stack = ctx.stack
    template = f"erase-{uuid.uuid4().hex[:8]}-{n}-{{i}}@example.com"
    user_id = (await data.seed_accounts(stack.admin_dsn, 1, email_template=template))[0]
    await data.seed_journal(stack.admin_dsn, [user_id], entries, tags, analyze=False)
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    await data.insert_reminders(conn, reminders, [user_id], [tomorrow] * reminders, "bench erasure")
    # Statistics and visibility map as autovacuum would leave them long before an erasure: the
    # time then does not depend on when autovacuum last analysed the tables (just after the
    # warm-up's erasure emptied them, it made the next one quadratic before 0d81509).
    await data.vacuum_journal(stack.admin_dsn)
    # Every table with a user_id column, and the account row itself.
    tables = [(r["table_schema"], r["table_name"], "user_id") for r in await conn.fetch(USER_TABLES)]
    tables.append(("users", "users", "id"))
    counts = [f'(SELECT count(*) FROM "{s}"."{t}" WHERE {column} = $1)' for s, t, column in tables]
    before = {
        f"{s}.{t}": await conn.fetchval(f"SELECT {sql}", user_id)
        for (s, t, _), sql in zip(tables, counts, strict=True)
    }
    token = stack.mint_tokens([user_id])[0]
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        await _expect(
            session,
            "DELETE",
            stack.gateway_url + "/api/v1/users/me",
            204,
            headers={"Authorization": f"Bearer {token}"},
        )
        answered = time.perf_counter() - started

        async def gone() -> bool:
            left: int = await conn.fetchval(f"SELECT {' + '.join(counts)}", user_id)
            return left == 0

        await _poll(gone, 120, f"erasing user {user_id}", every=0.02)
        seconds = time.perf_counter() - started
    return seconds, answered * 1000, {k: v for k, v in before.items() if v}


async def case_erasure(ctx: Context, result: CaseResult) -> None:
    plan = ctx.plan
    conn = await asyncpg.connect(ctx.stack.admin_dsn)
    try:
        await _erase_once(
            ctx, conn, max(10, plan.erase_entries // 10), plan.erase_tags, plan.erase_reminders, 0
        )
        seconds: list[float] = []
        answered: list[float] = []
        rows: dict[str, int] = {}
        for n in range(ctx.rounds):
            took, answer_ms, rows = await _erase_once(
                ctx, conn, plan.erase_entries, plan.erase_tags, plan.erase_reminders, n + 1
            )
            seconds.append(took)
            answered.append(answer_ms)
    finally:
        await conn.close()
    result.rows += [
        Row(
            f"user with {plan.erase_entries:,} entries, {plan.erase_tags} tags, {plan.erase_reminders} reminders: "
            "DELETE /api/v1/users/me → no row left",
            Summary.of(seconds),
            "s",
        ),
        Row("… of which the DELETE answer", Summary.of(answered), "ms"),
        Row("rows erased per user", text=", ".join(f"{k} {v:,}" for k, v in rows.items())),
    ]
    result.targets.append(Target("erasure ≤ 5 s", statistics.median(seconds), "<=", 5.0, "s"))
    result.notes.append(
        "Timed from sending the DELETE until a poll (every 20 ms) finds no row with the user's id in any "
        "table of the users, journal and reminders schemas that has a user_id column, nor the account row."
    )


# --- case 7 ------------------------------------------------------------------------------------


async def case_floor(ctx: Context, result: CaseResult) -> None:
    from daybook_common.db import plain_url
    from daybook_journal.entries.services import EntryFilters, EntryQueries

    plan = ctx.plan
    query, values = EntryQueries.list_query(EntryFilters(), None, 20)
    conn = await asyncpg.connect(
        plain_url(ctx.stack.role_url("journal")),
        server_settings={
            "search_path": "journal",
            "application_name": "daybook-bench-floor",
            "plan_cache_mode": "force_generic_plan",
        },
    )
    rng = random.Random(7)
    users = [str(u) for u in ctx.user_ids]
    try:
        statement = await conn.prepare(query.sql)
        arguments = [query.args({"uid": rng.choice(users), **values}) for _ in range(plan.floor_queries)]
        for args in arguments[: max(200, plan.floor_queries // 10)]:  # warm-up
            await statement.fetch(*args)
        per_query: list[float] = []
        for _ in range(ctx.rounds):
            started = time.perf_counter()
            for args in arguments:
                rows = await statement.fetch(*args)
            per_query.append((time.perf_counter() - started) / len(arguments) * 1e6)
            if len(rows) < min(20, plan.entries_per_user):
                raise RuntimeError(f"the list query returned {len(rows)} rows")
    finally:
        await conn.close()
    floor = Summary.of(per_query)
    ctx.floor_us = floor
    result.rows += [
        Row(
            f"GET-entries statement (limit 20), {plan.floor_queries:,} times sequentially, 1 asyncpg connection",
            floor,
            "µs/query",
        ),
        Row("… as a rate", Summary(1e6 / floor.median, 1e6 / floor.high, 1e6 / floor.low), "queries/s"),
    ]
    result.notes.append(
        "The journal's own list statement (EntryQueries.list_query, RLS bound inside it) as the journal role, "
        "prepared once, random seeded users."
    )
