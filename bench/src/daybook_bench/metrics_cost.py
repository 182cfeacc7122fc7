"""Case 12: what the Prometheus metrics cost the hot read (issue 20: at most 5 % fewer req/s).

Two journal + gateway pairs started by the case with the stack's settings, the same in all but
``JOURNAL_METRICS`` / ``GATEWAY_METRICS`` (on: request counts and latency histograms per route,
pool sampling, upstream latency; off: none of it), each gateway in front of its own journal.
``GET /api/v1/journal/entries?limit=20`` with rotating tokens through each gateway and direct to
each journal, interleaved round by round.

The req/s ratio is what the target reads, but on a shared two-core machine it swings with
everything else that runs (2026-12-05: 0.57-0.93x in one run, while PostgreSQL and wrk — which
the flag does not touch — also spent ~20 % more CPU per request in the "on" rounds). The CPU per
request of the processes the flag does change (journal, and gateway + journal through it) is
also shown as a ratio, off ÷ on: what the req/s ratio would be if those processes alone bounded
the throughput, and a number that carries across machines and loads.

``DAYBOOK_BENCH_METRICS_CONTROL=1`` starts both pairs with metrics off (an A/A control: the
"on" pair is still the one measured first in odd rounds). What the ratios read
then is what the case measures without any metrics at all (bench/README.md, case 12).
"""

from __future__ import annotations

import os

from daybook_bench import procs
from daybook_bench.cases import (
    ENTRIES_PATH,
    Context,
    CpuRuns,
    Probe,
    _ratios,
    cpu_row,
    interleaved,
    warm_tokens,
)
from daybook_bench.results import TIMES, CaseResult, Row, Target
from daybook_bench.scale import Spec, _serve_all
from daybook_bench.wrk import Summary

#: The issue's budget: metrics may cost at most 5 % of the hot read's throughput.
MAX_LOSS = 0.05
#: Set to ``1``: both pairs with metrics off (A/A control of the case itself).
CONTROL_ENV = "DAYBOOK_BENCH_METRICS_CONTROL"


def _cpu_ratio(usage: CpuRuns, probe: str, processes: tuple[str, ...]) -> Summary | None:
    """Per round: CPU µs per request of ``processes`` with metrics off ÷ on (``-on``/``-off``
    suffixed names of the same probe and processes; the rounds ran side by side)."""
    on, off = usage[f"{probe}-on"], usage[f"{probe}-off"]
    ratios = []
    for a, b in zip(on, off, strict=True):
        spent_on = sum(a.get(f"{p}-on", 0.0) for p in processes)
        spent_off = sum(b.get(f"{p}-off", 0.0) for p in processes)
        if spent_on > 0:
            ratios.append(spent_off / spent_on)
    return Summary.of(ratios) if ratios else None


async def case_metrics_cost(ctx: Context, result: CaseResult) -> None:
    assert ctx.tokens_file is not None
    env = {"DAYBOOK_TOKENS_FILE": str(ctx.tokens_file)}
    query = f"{ENTRIES_PATH}?limit=20"
    c = ctx.plan.connections
    probes: dict[str, Probe] = {}
    roots: dict[str, int] = {}
    control = os.environ.get(CONTROL_ENV) == "1"
    flags = {"on": "false" if control else "true", "off": "false"}
    ports = iter(procs.free_ports(4))
    specs: list[Spec] = []
    for state, flag in flags.items():
        journal_port, gateway_port = next(ports), next(ports)
        gateway_env = {"GATEWAY_METRICS": flag, "GATEWAY_JOURNAL_URL": f"http://127.0.0.1:{journal_port}"}
        specs += [
            ("journal", {"JOURNAL_METRICS": flag}, journal_port, f"journal-metrics-{state}.log"),
            ("gateway", gateway_env, gateway_port, f"gateway-metrics-{state}.log"),
        ]
    with _serve_all(ctx, specs) as served:
        for state, (journal, gateway) in zip(flags, (served[0:2], served[2:4]), strict=True):
            ctx.say(f"  metrics {state}: one request per token through its gateway…")
            await warm_tokens(ctx, gateway=gateway.url)
            probes[f"gateway-{state}"] = (gateway.url + query, c, env)
            probes[f"direct-{state}"] = (journal.url + query, c, env)
            roots[f"journal-{state}"] = journal.pid
            roots[f"gateway-{state}"] = gateway.pid
        runs, usage = await interleaved(ctx, probes, extra_roots=roots, alternate=True)
    through = _ratios(runs["gateway-on"], runs["gateway-off"])
    direct = _ratios(runs["direct-on"], runs["direct-off"])
    result.rows += [
        Row.of_wrk(f"GET {query} through the gateway, metrics on (c={c})", runs["gateway-on"]),
        Row.of_wrk(f"… metrics off (c={c})", runs["gateway-off"]),
        Row.of_wrk(f"GET {query} direct to journal, metrics on (c={c})", runs["direct-on"]),
        Row.of_wrk(f"… metrics off (c={c})", runs["direct-off"]),
        Row("ratio on / off through the gateway (req/s)", through, TIMES),
        Row("ratio on / off direct (req/s)", direct, TIMES),
        Row(
            "ratio on / off through the gateway from CPU per request of gateway + journal (off µs ÷ on µs)",
            _cpu_ratio(usage, "gateway", ("gateway", "journal")),
            TIMES,
        ),
        Row(
            "ratio on / off direct from CPU per request of journal (off µs ÷ on µs)",
            _cpu_ratio(usage, "direct", ("journal",)),
            TIMES,
        ),
        cpu_row("through the gateway, metrics on", usage["gateway-on"]),
        cpu_row("through the gateway, metrics off", usage["gateway-off"]),
        cpu_row("direct, metrics on", usage["direct-on"]),
        cpu_row("direct, metrics off", usage["direct-off"]),
    ]
    assert through.median is not None and direct.median is not None
    result.targets += [
        Target("metrics on ≥ 0.95x off, through the gateway", through.median, ">=", 1 - MAX_LOSS, TIMES),
        Target("metrics on ≥ 0.95x off, direct", direct.median, ">=", 1 - MAX_LOSS, TIMES),
    ]
    if control:
        result.notes.append(
            f"{CONTROL_ENV}=1: A/A control, metrics OFF in both pairs ('on' is only a name here)."
        )
    result.notes.append(
        "Both pairs are started by the case (same settings, same age), each gateway in front of its own "
        "journal; only <P>_METRICS differs. Rounds alternate the order (on before off, then off before on, …) "
        "so drift hits both alike."
    )
