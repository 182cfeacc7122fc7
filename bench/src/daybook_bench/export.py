"""Case 9 (issue 18): the account export of a user with 10,000 entries, through the gateway.

A fresh user gets ``plan.erase_entries`` entries (10,000; quick: 500) with ``plan.erase_tags``
tags and ``plan.erase_reminders`` reminders (the erasure case's sizes and seeding); then
``GET /api/v1/users/me/export`` is read to its last byte, timed from sending the request.
Each round checks the zip (``testzip``, the manifest's entry count).

Memory: before each export every process of the gateway, users, journal and reminders trees has
its peak resident size reset (``/proc/<pid>/clear_refs`` ← ``5``); after it, growth is the peak
(``VmHWM``) minus the resident size before (``VmRSS``), summed over each tree.  Where the reset
is not allowed, the resident sizes are sampled every 5 ms instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import os
import statistics
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

from daybook_bench import cases as c
from daybook_bench import cpu, data
from daybook_bench.results import CaseResult, Row, Target
from daybook_bench.wrk import Summary

EXPORT_PATH = "/api/v1/users/me/export"
SERVICES = ("gateway", "users", "journal", "reminders")


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry.name}/stat").read_text()
                ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakMemory:
    """Peak resident-size growth of each named process tree during a block (see the module)."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.pids = {name: _tree(root) for name, root in roots.items() if name in SERVICES}
        self.before: dict[int, int] = {}
        self.peak: dict[int, int] = {}
        self.reset = True
        self._sampler: asyncio.Task[None] | None = None

    def _start(self) -> None:
        for pids in self.pids.values():
            for pid in pids:
                try:
                    Path(f"/proc/{pid}/clear_refs").write_text("5")
                except OSError:
                    self.reset = False
                self.before[pid] = _status_kib(pid, "VmRSS")

    async def __aenter__(self) -> PeakMemory:
        self._start()
        if not self.reset:
            self._sampler = asyncio.create_task(self._sample())
        return self

    async def _sample(self) -> None:
        while True:
            for pids in self.pids.values():
                for pid in pids:
                    self.peak[pid] = max(self.peak.get(pid, 0), _status_kib(pid, "VmRSS"))
            await asyncio.sleep(0.005)

    async def __aexit__(self, *exc: object) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
        else:
            for pids in self.pids.values():
                for pid in pids:
                    self.peak[pid] = _status_kib(pid, "VmHWM")

    def growth_mb(self) -> dict[str, float]:
        return {
            name: sum(max(0, self.peak.get(pid, 0) - self.before.get(pid, 0)) for pid in pids) * 1024 / 1e6
            for name, pids in self.pids.items()
        }


#: Makes every entry of a user client-side encrypted, with ``$2`` random bytes of ciphertext.
ENCRYPT = """
UPDATE journal.journal_entries SET content = NULL,
    ciphertext = (SELECT decode(string_agg(md5(random()::text || id::text || g::text), ''), 'hex')
                  FROM generate_series(1, $2::int / 16) AS g),
    wrapped_key = decode(md5(id::text) || md5(id::text), 'hex'),
    iv = decode(substr(md5(random()::text), 1, 24), 'hex'),
    wrap_iv = decode(substr(md5(random()::text), 1, 24), 'hex')
WHERE user_id = $1
"""


async def _user(
    ctx: c.Context, conn: asyncpg.Connection, entries: int, ciphertext_bytes: int = 0
) -> tuple[uuid.UUID, str]:
    plan = ctx.plan
    template = f"export-{uuid.uuid4().hex[:8]}-{{i}}@example.com"
    user_id = (await data.seed_accounts(ctx.stack.admin_dsn, 1, email_template=template))[0]
    await data.seed_journal(ctx.stack.admin_dsn, [user_id], entries, plan.erase_tags, analyze=False)
    if ciphertext_bytes:
        await conn.execute(ENCRYPT, user_id, ciphertext_bytes)
    due = [dt.datetime.now(dt.UTC) + dt.timedelta(days=1)] * plan.erase_reminders
    await data.insert_reminders(conn, plan.erase_reminders, [user_id], due, "bench export")
    return user_id, ctx.stack.mint_tokens([user_id])[0]


@dataclass(frozen=True)
class Export:
    seconds: float
    zip_bytes: int
    json_bytes: int
    growth_mb: dict[str, float]
    exact: bool
    cpu_s: dict[str, float]


async def _export_once(ctx: c.Context, token: str, entries: int) -> Export:
    """One export read to its last byte, checked, with the memory growth per tree."""
    buffer = io.BytesIO()
    timeout = aiohttp.ClientTimeout(total=120)
    roots = ctx.stack.process_roots()
    ticks_before = cpu.tree_ticks(roots)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        PeakMemory(ctx.stack.process_roots()) as memory,
    ):
        started = time.perf_counter()
        async with session.get(
            ctx.stack.gateway_url + EXPORT_PATH, headers={"Authorization": f"Bearer {token}"}
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"export answered {response.status}: {(await response.text())[:300]}")
            async for chunk in response.content.iter_chunked(256 * 1024):
                buffer.write(chunk)
        seconds = time.perf_counter() - started
    used = cpu.per_request_us(ticks_before, cpu.tree_ticks(roots), 1)
    archive = zipfile.ZipFile(buffer)
    if archive.testzip() is not None:
        raise RuntimeError("the export zip is damaged")
    counts = json.loads(archive.read("manifest.json"))["counts"]
    if counts["entries"] != entries:
        raise RuntimeError(f"the export holds {counts['entries']} entries, expected {entries}")
    unpacked = sum(info.file_size for info in archive.infolist())
    cpu_s = {name: us / 1e6 for name, us in used.items() if us > 0}
    return Export(seconds, buffer.tell(), unpacked, memory.growth_mb(), memory.reset, cpu_s)


#: The two accounts each round exports: the seed's plain entries (10-40 words each), and the
#: same number encrypted with 4 KiB of ciphertext each (~55 MB of JSON: more than the memory
#: target, so an export that held it all could not meet it).
VARIANTS = (("plain entries", 0), ("encrypted entries, 4 KiB ciphertext each", 4096))


async def case_export(ctx: c.Context, result: CaseResult) -> None:
    entries = ctx.plan.erase_entries
    conn = await asyncpg.connect(ctx.stack.admin_dsn)
    runs: dict[str, list[Export]] = {name: [] for name, _ in VARIANTS}
    try:
        _, warm_token = await _user(ctx, conn, max(10, entries // 10))
        await _export_once(ctx, warm_token, max(10, entries // 10))
        tokens = {name: (await _user(ctx, conn, entries, size))[1] for name, size in VARIANTS}
        for _ in range(ctx.rounds):  # interleaved, so drift hits both alike
            for name, _size in VARIANTS:
                runs[name].append(await _export_once(ctx, tokens[name], entries))
    finally:
        await conn.close()
    exact = all(run.exact for done in runs.values() for run in done)
    for name, done in runs.items():
        totals = [sum(run.growth_mb.values()) for run in done]
        result.rows += [
            Row(
                f"{entries:,} {name}, {ctx.plan.erase_tags} tags, {ctx.plan.erase_reminders} reminders: "
                "GET /api/v1/users/me/export to the last byte",
                Summary.of([run.seconds for run in done]),
                "s",
            ),
            Row(
                "… zip / JSON inside it",
                text=f"{done[0].zip_bytes / 1e6:,.1f} MB / {done[0].json_bytes / 1e6:,.1f} MB",
            ),
            Row("… peak memory growth, gateway + users + journal + reminders", Summary.of(totals), "MB"),
            Row(
                "… CPU seconds per export",
                text=", ".join(
                    f"{name} {statistics.median(run.cpu_s.get(name, 0.0) for run in done):.2f}"
                    for name in sorted(done[0].cpu_s, key=lambda n: -done[0].cpu_s[n])
                ),
            ),
            Row(
                "… memory growth of each",
                text=", ".join(
                    f"{service} {statistics.median(run.growth_mb.get(service, 0.0) for run in done):.2f}"
                    for service in SERVICES
                ),
            ),
        ]
        result.targets += [
            Target(
                f"{name}: export of {entries:,} < 10 s",
                statistics.median(run.seconds for run in done),
                "<=",
                10.0,
                "s",
            ),
            Target(f"{name}: memory growth < 50 MB", statistics.median(totals), "<=", 50.0, "MB"),
        ]
    result.notes.append(
        "Memory: per process, the peak resident size during the export "
        + (
            "(VmHWM after resetting it through /proc/<pid>/clear_refs)"
            if exact
            else "(VmRSS sampled every 5 ms)"
        )
        + " minus the resident size before, summed over each service's process tree (MB = 10^6 bytes); "
        "PostgreSQL not counted. The rate limits are off for the bench (GATEWAY_RATE_LIMITS=off)."
    )
