"""Every process ``daybook up`` serves tunes its garbage collector (``daybook_common.heap``) once
started, and only there: checked in fresh interpreters, so this test process keeps CPython's defaults."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from daybook_common import cli as common_cli
from daybook_common.heap import GEN0_THRESHOLD
from daybook_deploy.services import HTTP_SERVICES
from daybook_devtools.testing.tokens import TestSigner

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


def probe(factory: str, prefix: str, tmp_path: Path) -> dict[str, Any]:
    # No database or NATS is reached at startup (pools open lazily; events off).
    env = {
        f"{prefix}_JWKS_JSON": TestSigner().jwks_json,
        f"{prefix}_LOG_LEVEL": "WARNING",
        f"{prefix}_EVENTS_ENABLED": "false",
        f"{prefix}_DATABASE_URL": "postgresql://nobody:unused@127.0.0.1:9/unused",
        "USERS_SIGNING_KEY_FILE": str(tmp_path / "signing-key.pem"),
        "PATH": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE, factory], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def served_factory(package: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The app factory ``daybook-<name> serve`` hands to Granian (the launcher runs exactly that)."""
    seen: list[str] = []
    cli = importlib.import_module(f"{package}.cli")
    fake = lambda factory, *args, **kwargs: seen.append(factory)  # noqa: E731
    monkeypatch.setattr(common_cli, "serve", fake)
    if hasattr(cli, "serve"):
        monkeypatch.setattr(cli, "serve", fake)
    cli.main(["serve"])
    assert len(seen) == 1
    return seen[0]


@pytest.mark.parametrize("spec", HTTP_SERVICES, ids=lambda s: s.name)
def test_served_worker_freezes_its_startup_heap_and_raises_the_gen0_threshold(
    spec: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    factory = served_factory(spec.package, monkeypatch)
    assert factory == f"{spec.package}.app:create_served_app"
    result = probe(factory, spec.prefix, tmp_path)
    assert result["started"] == "lifespan.startup.complete"
    assert result["frozen"] > 10_000  # Litestar, SQLAlchemy/aiohttp, … are frozen
    before, after = result["before"], result["threshold"]
    assert after == [GEN0_THRESHOLD, before[1], before[2]]
    assert result["cycle_collected"] is True  # cycles made after startup are still reclaimed


@pytest.mark.parametrize("spec", HTTP_SERVICES, ids=lambda s: s.name)
def test_create_app_leaves_the_collector_alone(spec: Any, tmp_path: Path) -> None:
    result = probe(f"{spec.package}.app:create_app", spec.prefix, tmp_path)
    assert result["started"] == "lifespan.startup.complete"
    assert result["frozen"] == 0
    assert result["threshold"] == result["before"]
