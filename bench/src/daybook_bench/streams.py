"""Case 11 (issue 19): live notification streams through the gateway.

1,000 users (quick: 100) each open ``GET /api/v1/notifications/stream`` through the gateway (one
aiohttp client in the bench's process). Measured:

- memory: the resident set of the gateway, reminders and NATS process trees before the streams
  and after they are open and idle (extra MB), and CPU of those trees over an idle window (% of
  one core; the reminders' heartbeat is the stack's default, 15 s);
- delivery: two scheduler processes fire 5,000 reminders (quick: 500) of those users, all due at
  once, per round; each event's latency is its arrival in the bench minus the notification's
  ``created_at`` (the scheduler's claim time, on the same clock): row to event, through the
  outbox, the relay, NATS, the reminders process and the gateway. Every round checks that each
  notification arrived exactly once, on its user's stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg

from daybook_bench import cases as c
from daybook_bench import cpu, data, procs
from daybook_bench.results import CaseResult, Row, Target
from daybook_bench.wrk import Summary

STREAM_PATH = "/api/v1/notifications/stream"
FULL_STREAMS, FULL_FIRED = 1_000, 5_000
QUICK_STREAMS, QUICK_FIRED = 100, 500
IDLE_WINDOW_S = 20.0
#: --quick's idle window and settling time: quick only keeps the harness working, and must stay
#: under 2 min in CI.
QUICK_IDLE_WINDOW_S = 2.0
SETTLE_S, QUICK_SETTLE_S = 3.0, 1.0
#: Streams opened at once: all of them, as when every client reconnects in the same second (after a
#: deploy or a network blip); each must be answered 200.
OPEN_WAVE = FULL_STREAMS
MEASURED = ("gateway", "reminders", "nats")
#: Streams of other users opened and closed before the "before" memory is read: what a process's
#: first streams cost once (lazy imports, caches, the live pool's connection — ~9 MB in the
#: reminders process) is not what each open stream costs.
WARM_UP = 20


@dataclass
class Receiver:
    """Every stream's events: notification id → (user, arrival wall time, created_at)."""

    arrivals: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    duplicates: int = 0
    misrouted: int = 0
    connected: int = 0
    ended: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self, session: aiohttp.ClientSession, url: str, user: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with session.get(url, headers=headers) as response:
                if response.status != 200:
                    raise RuntimeError(f"stream answered {response.status}: {await response.text()}")
                data_lines: list[str] = []
                async for raw in response.content:
                    line = raw.decode().rstrip("\r\n")
                    if line == ": connected":
                        self.connected += 1
                        self.changed.set()
                    elif line.startswith("data:"):
                        data_lines.append(line[5:].strip())
                    elif line == "" and data_lines:
                        self._arrived(user, json.loads("".join(data_lines)))
                        data_lines = []
        finally:
            self.ended += 1
            self.changed.set()

    def _arrived(self, user: str, note: dict[str, str]) -> None:
        now = time.time()
        if note["id"] in self.arrivals:
            self.duplicates += 1
        if note["user_id"] != user:
            self.misrouted += 1
        created = dt.datetime.fromisoformat(note["created_at"].replace("Z", "+00:00")).timestamp()
        self.arrivals[note["id"]] = (user, now, created)
        self.changed.set()

    async def until(self, predicate: object, limit_s: float, what: str) -> None:
        deadline = time.monotonic() + limit_s
        while not predicate():  # type: ignore[operator]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{what} did not happen within {limit_s:.0f}s")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


# The notification's recording (created_at) to the relay's publish of its event (published_at).
PUBLISHED = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM o.published_at - n.created_at)) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM o.published_at - n.created_at)) AS p99
FROM reminders.outbox AS o
CROSS JOIN LATERAL jsonb_array_elements(o.payload -> 'notifications') AS e(item)
JOIN reminders.notifications AS n ON n.id = (e.item ->> 'notification_id')::uuid
WHERE n.title = $1
"""


def tree_rss_mb(roots: dict[str, int]) -> dict[str, float]:
    """Resident set (MB) of each named process tree (``/proc/<pid>/status`` VmRSS, summed)."""
    children: dict[str, list[str]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry.name}/stat").read_text()
                ppid = stat[stat.rfind(")") + 2 :].split()[1]
                children.setdefault(ppid, []).append(entry.name)
    out: dict[str, float] = {}
    for name, root in roots.items():
        total_kb, todo = 0, [str(root)]
        while todo:
            pid = todo.pop()
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
            todo.extend(children.get(pid, ()))
        out[name] = total_kb / 1024
    return out


async def warm_up(session: aiohttp.ClientSession, url: str, tokens: list[str]) -> None:
    """Open a stream for each token (at once), read its first line, close them all."""

    async def one(token: str) -> None:
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            if response.status != 200:
                raise RuntimeError(f"warm-up stream answered {response.status}: {await response.text()}")
            await response.content.readline()

    await asyncio.gather(*(one(token) for token in tokens))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))]


async def case_streams(ctx: c.Context, result: CaseResult) -> None:
    quick = ctx.plan.users < 1_000
    streams, fired = (QUICK_STREAMS, QUICK_FIRED) if quick else (FULL_STREAMS, FULL_FIRED)
    idle_window, settle = (QUICK_IDLE_WINDOW_S, QUICK_SETTLE_S) if quick else (IDLE_WINDOW_S, SETTLE_S)
    users = ctx.user_ids[:streams]
    warm_users = ctx.user_ids[streams : streams + WARM_UP]
    if len(warm_users) < WARM_UP:
        raise RuntimeError(f"case 11 needs {streams + WARM_UP} seeded users, found {len(ctx.user_ids)}")
    tokens = ctx.stack.mint_tokens(users)
    roots = {name: pid for name, pid in ctx.stack.process_roots().items() if name in MEASURED}
    url = ctx.stack.gateway_url + STREAM_PATH
    receiver = Receiver()
    fresh_rss = tree_rss_mb(roots)
    before_rss: dict[str, float] = {}
    conn = await asyncpg.connect(ctx.stack.admin_dsn)
    logs = [ctx.workdir / f"streams-scheduler-{i}.log" for i in range(2)]
    schedulers = [procs.spawn_scheduler(ctx.stack.role_url("reminders"), log) for log in logs]
    latencies: list[list[float]] = []
    relay_p50: list[float] = []
    relay_p99: list[float] = []
    exact = True
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None, sock_read=120)
    ) as session:
        followers: list[asyncio.Task[None]] = []
        try:
            await warm_up(session, url, ctx.stack.mint_tokens(warm_users))
            await asyncio.sleep(1)
            before_rss = tree_rss_mb(roots)
            await asyncio.to_thread(procs.wait_started, schedulers, logs)
            ctx.say(
                f"  opening {streams:,} streams through the gateway, {min(OPEN_WAVE, streams):,} at a time"
            )
            opened = time.perf_counter()
            pairs = list(zip(users, tokens, strict=True))
            for first in range(0, streams, OPEN_WAVE):
                for user, token in pairs[first : first + OPEN_WAVE]:
                    followers.append(asyncio.create_task(receiver.follow(session, url, str(user), token)))
                await receiver.until(
                    lambda n=len(followers): receiver.connected >= n or receiver.ended > 0,
                    120,
                    "opening streams",
                )
                if receiver.ended:
                    await asyncio.gather(*followers)  # raises what ended one
            open_s = time.perf_counter() - opened
            await asyncio.sleep(settle)
            open_rss = tree_rss_mb(roots)
            ticks = cpu.tree_ticks(roots)
            idle_started = time.perf_counter()
            await asyncio.sleep(idle_window)
            idle_ticks = cpu.tree_ticks(roots)
            idle_s = time.perf_counter() - idle_started
            hz = os.sysconf("SC_CLK_TCK")
            idle_cpu = {n: (idle_ticks[n] - ticks[n]) / hz / idle_s * 100 for n in roots}
            busy_cpu: list[dict[str, float]] = []
            peak_rss: dict[str, float] = dict(open_rss)
            for n in range(ctx.rounds + 1):  # the first is a warm-up
                title = f"bench-streams-{n}"
                owners = [users[i % streams] for i in range(fired)]
                due = [dt.datetime.now(dt.UTC).replace(microsecond=0)] * fired
                seen = len(receiver.arrivals)
                ctx.say(f"  round {n}: {fired:,} reminders of those users due at once, 2 schedulers")
                ticks = cpu.tree_ticks(roots)
                started = time.perf_counter()
                await data.insert_reminders(conn, fired, owners, due, title, seed=zlib.crc32(title.encode()))
                await conn.execute("SELECT pg_notify('reminders_changed', '')")
                await receiver.until(
                    lambda seen=seen: len(receiver.arrivals) >= seen + fired, 120, f"{fired:,} events"
                )
                spent = time.perf_counter() - started
                after = cpu.tree_ticks(roots)
                for name, mb in tree_rss_mb(roots).items():
                    peak_rss[name] = max(peak_rss[name], mb)
                ids = await conn.fetch(
                    "SELECT id::text, user_id::text FROM reminders.notifications WHERE title = $1", title
                )
                if len(ids) != fired or any(
                    receiver.arrivals.get(row["id"], ("",))[0] != row["user_id"] for row in ids
                ):
                    exact = False
                published = await conn.fetchrow(PUBLISHED, title)
                if n > 0 and published is not None:
                    relay_p50.append(float(published["p50"] or 0) * 1000)
                    relay_p99.append(float(published["p99"] or 0) * 1000)
                if n > 0:
                    latencies.append(
                        [
                            (receiver.arrivals[row["id"]][1] - receiver.arrivals[row["id"]][2]) * 1000
                            for row in ids
                        ]
                    )
                    busy_cpu.append({k: (after[k] - ticks[k]) / hz / spent * 100 for k in roots})
                await conn.execute("DELETE FROM reminders.reminders WHERE title = $1", title)
        finally:
            for task in followers:
                task.cancel()
            await asyncio.gather(*followers, return_exceptions=True)
            for proc in schedulers:
                procs.stop_group(proc, timeout=30)
            await conn.close()
    exact = exact and receiver.duplicates == 0 and receiver.misrouted == 0
    extra_rss = {n: open_rss[n] - before_rss[n] for n in roots}
    p50s = [_percentile(round_ms, 50) for round_ms in latencies]
    p99s = [_percentile(round_ms, 99) for round_ms in latencies]
    total_extra = sum(extra_rss.values())
    total_idle = sum(idle_cpu.values())
    result.rows += [
        Row(f"{streams:,} streams opened through the gateway", Summary.of([open_s]), "s"),
        Row(
            f"extra memory with {streams:,} open streams (RSS, after - before)",
            Summary.of([total_extra]),
            "MB",
            text=", ".join(f"{n} +{extra_rss[n]:.1f} MB" for n in roots),
        ),
        Row(
            f"one-time cost of a process's first streams ({WARM_UP} opened and closed, not counted above)",
            Summary.of([sum(before_rss.values()) - sum(fresh_rss.values())]),
            "MB",
            text=", ".join(f"{n} +{before_rss[n] - fresh_rss[n]:.1f} MB" for n in roots),
        ),
        Row(
            f"idle CPU with {streams:,} open streams ({idle_window:.0f} s, % of one core)",
            Summary.of([total_idle]),
            "%",
            text=", ".join(f"{n} {idle_cpu[n]:.1f} %" for n in roots),
        ),
        Row(
            f"{fired:,} reminders fired at once onto the streams: row → event received",
            p50=Summary.of(p50s),
            p99=Summary.of(p99s),
            text=f"{fired:,} events per round, each on its user's stream, once"
            if exact
            else "MISMATCH: missing, doubled or misrouted events",
        ),
        Row(
            "… of which row → published to NATS by the outbox relay",
            p50=Summary.of(relay_p50),
            p99=Summary.of(relay_p99),
        ),
        Row(
            "CPU while delivering (% of one core, median round)",
            Summary.of([sum(r.values()) for r in busy_cpu]),
            "%",
            text=", ".join(f"{n} {Summary.of([r[n] for r in busy_cpu]).median:.0f} %" for n in roots),
        ),
        Row(
            "peak RSS while delivering",
            Summary.of([sum(peak_rss.values())]),
            "MB",
            text=", ".join(f"{n} {peak_rss[n]:.0f} MB" for n in roots),
        ),
    ]
    if not exact:
        result.rows[-3].problems.append("events missing, doubled or misrouted")
    result.targets += [
        Target(f"{streams:,} open streams: < 100 MB extra", total_extra, "<=", 100, "MB"),
        Target(f"{streams:,} idle streams: CPU < 5 % (of one core)", total_idle, "<=", 5, "%"),
    ]
    result.extra["streams_exact"] = exact
    result.notes.append(
        "Latency = arrival in the bench - the notification's created_at (the scheduler's claim time): "
        "with everything due at once it includes queueing behind the whole burst."
    )
