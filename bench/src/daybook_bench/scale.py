"""Case 10: the hot read with replicas, and through PgBouncer (issue 21).

* **2 + 2 vs 1 + 1**: the stack's gateway and journal against two gateways (each given both
  journal replicas, ``GATEWAY_JOURNAL_URL=a,b``) in front of the stack's journal and a second
  one; the load is split over the two gateways (two wrk processes, half the connections each).
  On a 2-core machine no gain is expected: the point is no loss and no errors.
* **PgBouncer vs direct**: a journal whose ``JOURNAL_DATABASE_URL`` is a PgBouncer in transaction
  mode (statement cache off, ``JOURNAL_DIRECT_DATABASE_URL`` for the rest) against the stack's
  journal on the server directly, each hit directly (no gateway), interleaved.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

from daybook_bench import procs
from daybook_bench.cases import ENTRIES_PATH, Context, _ratios, _wrk, warm_tokens
from daybook_bench.results import TIMES, CaseResult, Row
from daybook_bench.wrk import WrkResult
from daybook_deploy.services import BY_NAME
from daybook_devtools.embedded import free_port
from daybook_devtools.pgbouncer import EmbeddedPgBouncer
from daybook_devtools.provision import role_url

#: One service process a case starts: service name, extra environment, port, log file name.
Spec = tuple[str, dict[str, str], int, str]


def _listener(ctx: Context, spec: Spec) -> procs.Listener:
    """``daybook-<name> serve`` on ``port`` with the stack's environment for it plus ``env``."""
    name, env, port, log = spec
    assert ctx.stack.stack is not None
    child_env = {**ctx.stack.stack.child_env(BY_NAME[name]), **env}
    child_env[f"{name.upper()}_PORT"] = str(port)
    if name == "gateway":  # the stack's gateway holds the admin port; a case's own have none
        child_env["GATEWAY_ADMIN_PORT"] = "0"
    return [sys.executable, "-m", f"daybook_{name}.cli", "serve"], port, ctx.workdir / log, child_env


@contextlib.contextmanager
def _serve_all(ctx: Context, specs: list[Spec]) -> Iterator[list[procs.Served]]:
    """Each spec's service, started side by side (a gateway need not wait for its journal: it
    connects upstream on demand); yielded once all listen, stopped together."""
    with procs.listening_all([_listener(ctx, spec) for spec in specs], timeout=90) as started:
        yield [
            procs.Served(f"http://127.0.0.1:{spec[2]}", proc.pid)
            for spec, proc in zip(specs, started, strict=True)
        ]


@contextlib.contextmanager
def _serve(ctx: Context, name: str, env: dict[str, str], port: int, log: str) -> Iterator[procs.Served]:
    """``daybook-<name> serve`` on ``port`` with the stack's environment for it plus ``env``."""
    with _serve_all(ctx, [(name, env, port, log)]) as (served,):
        yield served


def _combined(runs: list[WrkResult]) -> WrkResult:
    """Two wrk processes that ran side by side as one client: summed rates, the worse latencies."""
    return WrkResult(
        requests_per_s=sum(r.requests_per_s for r in runs),
        p50_ms=max(r.p50_ms for r in runs),
        p95_ms=max(r.p95_ms for r in runs),
        p99_ms=max(r.p99_ms for r in runs),
        requests=sum(r.requests for r in runs),
        errors=sum(r.errors for r in runs),
        non_2xx=sum(r.non_2xx for r in runs),
    )


async def _split(urls: list[str], connections: int, env: dict[str, str], seconds: float) -> WrkResult:
    share = max(1, connections // len(urls))
    return _combined(list(await asyncio.gather(*(_wrk(u, share, env, seconds) for u in urls))))


async def _alternate(
    ctx: Context, probes: dict[str, list[str]], env: dict[str, str]
) -> dict[str, list[WrkResult]]:
    """A warm-up of each probe, then ``rounds`` rounds running each in turn (drift hits both)."""
    c = ctx.plan.connections
    for urls in probes.values():
        if ctx.plan.warmup_s > 0:
            await _split(urls, c, env, ctx.plan.warmup_s)
    results: dict[str, list[WrkResult]] = {name: [] for name in probes}
    for _ in range(ctx.rounds):
        for name, urls in probes.items():
            results[name].append(await _split(urls, c, env, ctx.plan.round_s))
    return results


def _pooler(ctx: Context) -> EmbeddedPgBouncer:
    stack = ctx.stack.stack
    assert stack is not None and stack.admin_url is not None
    server = urlsplit(stack.admin_url)
    journal = next(r for r in stack.roles() if r.schema == "journal")
    return EmbeddedPgBouncer(
        ctx.workdir / "pgbouncer",
        free_port(),
        server.port or 5432,
        {journal.role: journal.password},
        server_host=server.hostname or "127.0.0.1",
    )


async def case_scale(ctx: Context, result: CaseResult) -> None:
    assert ctx.tokens_file is not None and ctx.stack.stack is not None
    env = {"DAYBOOK_TOKENS_FILE": str(ctx.tokens_file)}
    query = f"{ENTRIES_PATH}?limit=20"
    c = ctx.plan.connections
    await warm_tokens(ctx)
    journal_1 = ctx.stack.service_url("journal")
    gateway_1 = ctx.stack.gateway_url
    port_2, *gateway_ports = procs.free_ports(3)
    both = f"{journal_1},http://127.0.0.1:{port_2}"
    specs: list[Spec] = [("journal", {}, port_2, "journal-2.log")]
    specs += [
        ("gateway", {"GATEWAY_JOURNAL_URL": both}, port, f"gw-{i}.log")
        for i, port in enumerate(gateway_ports, 1)
    ]
    with _serve_all(ctx, specs) as (_, *gateways):
        ctx.say(f"  1+1 vs 2+2 (c={c} split over the gateways)…")
        runs = await _alternate(
            ctx, {"one": [gateway_1 + query], "two": [g.url + query for g in gateways]}, env
        )
    result.rows += [
        Row.of_wrk(f"GET {query}: 1 gateway + 1 journal (c={c})", runs["one"]),
        Row.of_wrk(f"GET {query}: 2 gateways + 2 journal replicas (c={c} over both)", runs["two"]),
        Row("ratio 2+2 / 1+1 (req/s)", _ratios(runs["two"], runs["one"]), TIMES),
    ]

    pooler = _pooler(ctx)
    stack = ctx.stack.stack
    journal_role = next(r for r in stack.roles() if r.schema == "journal")
    pooled_url = role_url(f"postgresql://x@127.0.0.1:{pooler.port}/x", stack.config.database, journal_role)
    pooler.start()
    try:
        pooled_env = {
            "JOURNAL_DATABASE_URL": pooled_url,
            "JOURNAL_DIRECT_DATABASE_URL": ctx.stack.role_url("journal"),
        }
        with _serve(ctx, "journal", pooled_env, free_port(), "journal-pooled.log") as pooled:
            ctx.say(f"  PgBouncer vs direct (c={c}, straight to the journal)…")
            runs = await _alternate(ctx, {"direct": [journal_1 + query], "pooled": [pooled.url + query]}, env)
    finally:
        pooler.stop()
    result.rows += [
        Row.of_wrk(f"GET {query} direct to journal, server connection (c={c})", runs["direct"]),
        Row.of_wrk(f"GET {query} direct to journal, through PgBouncer (c={c})", runs["pooled"]),
        Row("ratio PgBouncer / direct (req/s)", _ratios(runs["pooled"], runs["direct"]), TIMES),
    ]
    result.notes.append(
        "2+2: the second journal and the two gateways are started by the case with the stack's settings; "
        "wrk's connections are split over the two gateways and their results summed (latencies: the worse "
        "of the two). PgBouncer 1.18 (Debian) in transaction mode: the pooled journal runs without "
        "prepared-statement caches and PgBouncer resets each server connection (DEALLOCATE ALL) after "
        "every transaction — the price of pooling on this path. Same machine, no network hop saved."
    )
