"""The served worker's garbage-collector settings (``daybook_gateway.heap``), checked in a fresh
interpreter so this test process keeps CPython's defaults."""

from __future__ import annotations

import json
import subprocess
import sys

from daybook_common.testing.tokens import TestSigner
from daybook_gateway import cli
from daybook_gateway.heap import GEN0_THRESHOLD

# Starts the app ``daybook-gateway serve`` runs (lifespan driven like Granian does), then reports
# the collector's state, and whether a reference cycle made afterwards is still reclaimed.
PROBE = """
import asyncio, gc, json, sys, weakref
from importlib import import_module

module, _, name = sys.argv[1].partition(":")
factory = getattr(import_module(module), name)
before = gc.get_threshold()

async def main():
    app = factory()
    inbox, outbox = asyncio.Queue(), asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = (await outbox.get())["type"]
    frozen, threshold = gc.get_freeze_count(), gc.get_threshold()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    del a, b
    gc.collect()
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await task
    return {"started": started, "before": before, "frozen": frozen, "threshold": threshold,
            "cycle_collected": alive() is None}

print(json.dumps(asyncio.run(main())))
"""


def probe(factory: str) -> dict[str, object]:
    env = {"GATEWAY_JWKS_JSON": TestSigner().jwks_json, "GATEWAY_LOG_LEVEL": "WARNING", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, factory],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_served_worker_freezes_its_startup_heap_and_raises_the_gen0_threshold() -> None:
    result = probe(cli.APP_FACTORY)
    assert cli.APP_FACTORY == "daybook_gateway.app:create_served_app"
    assert result["started"] == "lifespan.startup.complete"
    assert isinstance(result["frozen"], int) and result["frozen"] > 10_000  # Litestar, aiohttp, … are frozen
    before, after = result["before"], result["threshold"]
    assert isinstance(before, list) and isinstance(after, list)
    assert after == [GEN0_THRESHOLD, before[1], before[2]]
    assert result["cycle_collected"] is True  # cycles made after startup are still reclaimed


def test_create_app_leaves_the_collector_alone() -> None:
    result = probe("daybook_gateway.app:create_app")
    assert result["started"] == "lifespan.startup.complete"
    assert result["frozen"] == 0
    assert result["threshold"] == result["before"]
