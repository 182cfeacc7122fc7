"""Case 15: start-up (issue 23) — ``daybook up`` to ready, the command itself, on a warm data dir.

A stack of its own (its own data dir in the bench's work dir, every port free-chosen, the web app
off so no Node build runs beside it): one cold start (``initdb``, first migrations) and stop, then
``--rounds`` warm starts (none in ``--quick``, to stay within CI's 2 minutes), each timed from
spawning ``daybook up`` until the gateway's ``/ready`` answers 200, then stopped (SIGTERM, as
Ctrl-C) before the next.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from daybook_bench.cases import Context
from daybook_bench.results import CaseResult, Row, Target
from daybook_bench.wrk import Summary
from daybook_deploy.services import SERVICES
from daybook_devtools.embedded import free_port

READY_LIMIT_S = 120.0


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "DAYBOOK_DATA_DIR": str(data_dir), "DAYBOOK_WEB": "off", "NO_COLOR": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("NATS_URL", None)
    env["DAYBOOK_PG_PORT"] = str(free_port())
    env["DAYBOOK_NATS_PORT"] = str(free_port())
    for spec in SERVICES:
        if spec.port:
            env[spec.port_variable] = str(free_port())
        if spec.metrics_prefix:
            env[spec.metrics_port_variable] = str(free_port())
    return env


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own loopback URL
            return bool(response.status == 200)
    except OSError:
        return False


def _start_once(data_dir: Path, log: Path) -> float:
    """Seconds from spawning ``daybook up`` to the gateway's ``/ready`` 200; stopped afterwards."""
    env = _env(data_dir)
    url = f"http://127.0.0.1:{env['GATEWAY_PORT']}/ready"
    command = [str(Path(sys.executable).parent / "daybook"), "up"]
    with log.open("ab") as out:
        began = time.perf_counter()
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            while not _ready(url):
                if proc.poll() is not None:
                    raise RuntimeError(f"daybook up exited with {proc.returncode} before ready (see {log})")
                if time.perf_counter() - began > READY_LIMIT_S:
                    raise TimeoutError(f"daybook up was not ready within {READY_LIMIT_S:.0f} s")
                time.sleep(0.05)
            return time.perf_counter() - began
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


async def case_startup(ctx: Context, result: CaseResult) -> None:
    data_dir = ctx.workdir / "startup-data"
    log = ctx.workdir / "startup.log"
    cold = await asyncio.to_thread(_start_once, data_dir, log)
    rounds = ctx.rounds if ctx.plan.startup_rounds is None else ctx.plan.startup_rounds
    warm = [await asyncio.to_thread(_start_once, data_dir, log) for _ in range(rounds)]
    summary = Summary.of(warm) if warm else None
    result.rows += [
        Row("daybook up → /ready 200, new data dir (initdb, first migrations)", Summary.of([cold]), "s"),
        Row("daybook up → /ready 200, warm data dir", summary, "s", text=None if warm else "n/a (quick)"),
    ]
    result.targets.append(
        Target(
            "start-up with a warm data dir ≤ 6 s",
            summary.median if summary else None,
            "<=",
            6.0,
            "s",
            note="" if warm else "quick: the cold start only",
        )
    )
    result.notes.append(
        "The command itself (its imports included), a data dir of its own, DAYBOOK_WEB=off; timed until the "
        "gateway's /ready is 200, then stopped with SIGTERM before the next round."
    )
