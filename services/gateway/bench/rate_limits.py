"""Added latency of a rate-limited request.

Starts an embedded NATS (or uses ``--nats``), a stub users service (aiohttp, answers at once) and
two gateways (``daybook-gateway serve``, one Granian worker each) in front of it: one with the
rate limits on, one with ``GATEWAY_RATE_LIMITS=off``.  Then sends ``POST /api/v1/auth/login``
sequentially (1 connection, keep-alive, the two gateways alternating) and prints the median and
p90 of each and their difference:

* a successful login: one counter round trip (``Nats-Incr: +0``, the check);
* a failed login (the stub answers 401): two (the check, then the count).

Usage: ``uv run python services/gateway/bench/rate_limits.py [--requests 2000] [--nats URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from aiohttp import web

from daybook_devtools.embedded import EmbeddedNats, free_port
from daybook_devtools.testing.tokens import TestSigner

LOGIN = "/api/v1/auth/login"


async def _stub(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True}, status=int(request.headers.get("x-stub-status", "200")))


@contextlib.contextmanager
def _nats(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedNats(Path(tmp) / "store", free_port())
        server.start()
        try:
            yield server.url
        finally:
            server.stop()


async def _wait(session: aiohttp.ClientSession, url: str, *, limited: bool) -> None:
    for _ in range(300):
        with contextlib.suppress(aiohttp.ClientError):
            async with session.post(url + LOGIN, json={}) as r:
                if r.status == 200 and (not limited or "RateLimit-Limit" in r.headers):
                    return
        await asyncio.sleep(0.1)
    raise SystemExit(f"{url} never answered as expected")


def _gateway(port: int, users: str, nats_url: str, *, limits: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        **{f"GATEWAY_{svc}_URL": users for svc in ("USERS", "JOURNAL", "REMINDERS")},
        "GATEWAY_JWKS_JSON": TestSigner().jwks_json,
        "GATEWAY_NATS_URL": nats_url,
        "GATEWAY_RATE_LIMITS": limits,
        "GATEWAY_RATE_LIMIT_LOGIN": "1000000000/86400",  # never refuses: only the cost is measured
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen([str(Path(sys.executable).parent / "daybook-gateway"), "serve"], env=env)


async def run(nats_url: str, requests: int) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", _stub)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    users = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    procs, urls = [], {}
    for name in ("on", "off"):
        port = free_port()
        procs.append(_gateway(port, users, nats_url, limits=name))
        urls[name] = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for name, url in urls.items():
                await _wait(session, url, limited=name == "on")
            for label, headers in (("successful login", {}), ("failed login", {"x-stub-status": "401"})):
                times: dict[str, list[float]] = {"on": [], "off": []}
                for i in range(requests):
                    for name in ("on", "off") if i % 2 else ("off", "on"):
                        started = time.perf_counter()
                        async with session.post(urls[name] + LOGIN, json={}, headers=headers) as r:
                            await r.read()
                        times[name].append((time.perf_counter() - started) * 1000)
                on, off = statistics.median(times["on"]), statistics.median(times["off"])
                p90 = {k: statistics.quantiles(v, n=10)[-1] for k, v in times.items()}
                print(
                    f"{label}: p50 {on:.3f} ms limited, {off:.3f} ms unlimited, added {on - off:.3f} ms; "
                    f"p90 {p90['on']:.3f} / {p90['off']:.3f} ms"
                )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--nats", default=None, help="an existing NATS (default: start an embedded one)")
    args = parser.parse_args()
    with _nats(args.nats) as url:
        asyncio.run(run(url, args.requests))


if __name__ == "__main__":
    main()
