"""Case 13: writes (issue 23) — ``POST /api/v1/journal/entries`` with two tags and an
``Idempotency-Key``, through the gateway at 32 connections, beside the bare asyncpg + Litestar
yardstick (:mod:`daybook_bench.reference`) doing the same insert, rounds interleaved.

Each user of the run gets two fresh tags (inserted directly); every request carries another
user's token, that user's two tag ids and a key of its own (wrk Lua, ``token<TAB><TAB>body``
lines). Afterwards every 201 must be a row with both links.
"""

from __future__ import annotations

import base64
import json
import uuid

import aiohttp
import asyncpg

from daybook_bench import procs
from daybook_bench.cases import (
    ENTRIES_PATH,
    Context,
    Probe,
    _expect,
    _ratios,
    cpu_row,
    interleaved,
    warm_tokens,
)
from daybook_bench.results import TIMES, CaseResult, Row, Target

TAGS = """
INSERT INTO journal.tags (id, user_id, name, color, version, created_at, updated_at)
SELECT gen_random_uuid(), u, n || ' ' || $2, '#3366aa', 1, now(), now()
FROM unnest($1::uuid[]) AS u, unnest(ARRAY['alpha', 'beta']) AS n
RETURNING id, user_id
"""


def _subject(token: str) -> uuid.UUID:
    """The user a token was minted for (its ``sub``; the signature is the services' business)."""
    payload = token.split(".")[1]
    return uuid.UUID(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def _body(marker: str, tag_ids: list[uuid.UUID]) -> str:
    return json.dumps(
        {
            "entry_date": "2026-01-22T10:00:00Z",
            "title": marker,
            "content": "A benchmark write with two tags.",
            "tag_ids": [str(t) for t in tag_ids],
        }
    )


async def case_writes(ctx: Context, result: CaseResult) -> None:
    assert ctx.tokens_file is not None
    c = ctx.plan.connections
    marker = f"bench writes {uuid.uuid4().hex[:8]}"
    tokens = ctx.tokens_file.read_text().split()
    conn = await asyncpg.connect(ctx.stack.admin_dsn)
    try:
        tag_rows = await conn.fetch(TAGS, [_subject(t) for t in tokens], marker[-8:])
    finally:
        await conn.close()
    tags: dict[uuid.UUID, list[uuid.UUID]] = {}
    for row in tag_rows:
        tags.setdefault(row["user_id"], []).append(row["id"])
    gateway_lines = [f"{t}\t\t{_body(marker, tags[_subject(t)])}" for t in tokens]
    bare_lines = [f"{_subject(t)}\t\t{_body(marker, tags[_subject(t)])}" for t in tokens]
    gateway_file = ctx.workdir / "writes-gateway.txt"
    bare_file = ctx.workdir / "writes-bare.txt"
    gateway_file.write_text("\n".join(gateway_lines) + "\n")
    bare_file.write_text("\n".join(bare_lines) + "\n")
    common = {"DAYBOOK_METHOD": "POST", "DAYBOOK_IDEMPOTENCY_PREFIX": marker.replace(" ", "-")}
    await warm_tokens(ctx)
    users_file = ctx.workdir / "users.txt"
    users_file.write_text("\n".join(str(u) for u in ctx.user_ids) + "\n")
    with procs.reference_server(
        ctx.stack.role_url("journal"), users_file, ctx.workdir / "reference-writes.log"
    ) as served:
        probes: dict[str, Probe] = {
            "gateway": (
                ctx.stack.gateway_url + ENTRIES_PATH,
                c,
                {**common, "DAYBOOK_TOKENS_FILE": str(gateway_file)},
            ),
            "reference": (served.url + "/entries", c, {**common, "DAYBOOK_TOKENS_FILE": str(bare_file)}),
        }
        await _check_once(ctx, served.url, tokens[0], gateway_lines[0], bare_lines[0])
        runs, usage = await interleaved(ctx, probes, extra_roots={"yardstick": served.pid})
    rows, linked = await _count(ctx, marker)
    gw = Row.of_wrk(
        f"POST {ENTRIES_PATH}, 2 tags, Idempotency-Key, through the gateway (c={c})", runs["gateway"]
    )
    ref = Row.of_wrk(
        f"yardstick: bare Litestar + asyncpg, the same insert, no auth/log (c={c})", runs["reference"]
    )
    ratio = _ratios(runs["gateway"], runs["reference"])
    result.rows += [
        gw,
        ref,
        Row("ratio gateway / yardstick (req/s)", ratio, TIMES),
        cpu_row("through the gateway", usage["gateway"]),
        cpu_row("yardstick", usage["reference"]),
    ]
    timed_ok = sum(r.requests - r.non_2xx for name in runs for r in runs[name])
    result.rows.append(
        Row(
            "rows with the run's title afterwards (both targets)",
            text=f"{rows:,} entries, {linked:,} with 2 links (timed 201s: {timed_ok:,})",
        )
    )
    if rows < timed_ok or linked != rows:
        result.rows[-1].problems.append("fewer rows than 201 answers, or entries without their 2 links")
    result.extra["cpu_us_per_request"] = usage
    result.extra["rows_written"] = rows
    result.extra["timed_created"] = timed_ok
    assert gw.value is not None and gw.p99 is not None
    result.targets += [
        Target("writes through the gateway ≥ 1,000 req/s", gw.value.median, ">=", 1_000, "req/s"),
        Target("writes p99 ≤ 50 ms", gw.p99.median, "<=", 50, "ms"),
    ]
    result.notes.append(
        "Every request: another user's token, that user's 2 tags, its own Idempotency-Key; fsync on. "
        "The yardstick does the same insert (key row with the response, tags locked, entry with its tag "
        "list, links) in one transaction of 2 statements, with no auth, middleware or access log."
    )


async def _check_once(ctx: Context, bare_url: str, token: str, gateway_line: str, bare_line: str) -> None:
    """One write to each target must answer 201 before loading."""
    for url, auth, line in (
        (ctx.stack.gateway_url + ENTRIES_PATH, token, gateway_line),
        (bare_url + "/entries", bare_line.split("\t", 1)[0], bare_line),
    ):
        headers = {
            "Authorization": f"Bearer {auth}",
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        }
        async with aiohttp.ClientSession() as session:
            await _expect(session, "POST", url, 201, data=line.split("\t", 2)[2], headers=headers)


async def _count(ctx: Context, marker: str) -> tuple[int, int]:
    conn = await asyncpg.connect(ctx.stack.admin_dsn)
    try:
        row = await conn.fetchrow(
            """
            SELECT count(*) AS rows,
                   count(*) FILTER (WHERE (SELECT count(*) FROM journal.journal_entry_tags AS l
                                           WHERE l.entry_id = e.id) = 2) AS linked
            FROM journal.journal_entries AS e WHERE title = $1
            """,
            marker,
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["rows"]), int(row["linked"])
