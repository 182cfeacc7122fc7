"""A/B of the gateway's upstream client and server interface (issue 23), on the proxy's core loop.

Each variant is the same minimal reverse proxy — copy the request headers bar hop-by-hop ones,
forward ``GET`` to one upstream over pooled keep-alive connections, relay status, headers and body —
served by Granian with one worker (uvloop), in front of one nginx that answers a fixed 6 KB JSON
body (about a page of 20 journal entries) from memory, so nearly all the CPU measured is the proxy's:

* ``asgi-aiohttp`` — what the gateway did before: ``aiohttp.ClientSession`` under ASGI;
* ``asgi-pyreqwest`` — ``pyreqwest`` (reqwest/hyper in Rust, its own Tokio runtime) under ASGI;
* ``asgi-httptools`` — :mod:`daybook_gateway.upstream_http` (asyncio protocol + httptools) under ASGI;
* ``rsgi-aiohttp`` / ``rsgi-httptools`` — the same clients under Granian's RSGI interface;
* ``--gateway NAME=PATH`` (repeatable) — the real ``daybook-gateway serve`` at ``PATH`` (e.g. the
  console script of another worktree's venv, to A/B two commits), asked for the public
  ``GET /api/v1/auth/jwks`` that every service URL (nginx) answers: token check, limits off,
  access log and metrics on as shipped.

wrk ``-t1 -c32`` for ``--duration`` seconds per round, variants in turn each round (so drift on a
shared machine hits all alike); per round: req/s and CPU µs per request of the proxy's Granian
process tree (``/proc``, jiffies ÷ requests). Medians are printed, as a Markdown table.

Usage: ``uv run python services/gateway/bench/clients_ab.py [--rounds 5] [--duration 5]``
(needs ``wrk`` and ``nginx``; ``pyreqwest`` is optional: ``uv pip install pyreqwest``).
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from daybook_bench.procs import find_nginx
from daybook_devtools.embedded import free_port

HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer", "host"})
BODY = (
    b'{"items":['
    + b",".join([b'{"id":"%032d","title":"an entry","body":"%s"}' % (i, b"w " * 120) for i in range(20)])
    + b"]}"
)
VARIANTS = ("asgi-aiohttp", "asgi-pyreqwest", "asgi-httptools", "rsgi-aiohttp", "rsgi-httptools")


# ---------------------------------------------------------------------------------------- the apps
def _upstream() -> str:
    return os.environ["AB_UPSTREAM"]


class _Client:
    """The variant's client, made lazily on the worker's event loop."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.client: Any = None

    async def get(
        self, target: str, headers: list[tuple[str, str]]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.client is None:
            self.client = await self._make()
        if self.kind == "aiohttp":
            async with self.client.get(_upstream() + target, headers=headers, allow_redirects=False) as r:
                body = await r.read()
                return r.status, [(k.decode(), v.decode()) for k, v in r.raw_headers], body
        if self.kind == "pyreqwest":
            r = await self.client.get(_upstream() + target).headers(headers).build().send()
            body = bytes(await r.bytes())
            return r.status, list(r.headers.items()), body
        response = await self.client.request("GET", target, headers)
        body = await response.read()
        return response.status, [(k.decode(), v.decode()) for k, v in response.raw_headers], body

    async def _make(self) -> Any:
        if self.kind == "aiohttp":
            import aiohttp

            return aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=256, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(total=60, sock_connect=2, sock_read=30),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            )
        if self.kind == "pyreqwest":
            from datetime import timedelta

            from pyreqwest.client import ClientBuilder

            return (
                ClientBuilder()
                .max_connections(256)
                .timeout(timedelta(seconds=60))
                .connect_timeout(timedelta(seconds=2))
                .gzip(False)
                .follow_redirects(False)
                .http1_only()
                .build()
            )
        from daybook_gateway.upstream_http import ConnectionPool

        return ConnectionPool(
            _upstream(), limit=256, connect_timeout=2, read_timeout=30, total_timeout=60, keepalive_timeout=15
        )


def asgi_app(kind: str) -> Any:
    client = _Client(kind)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"] if k.decode() not in HOP
        ]
        target = scope["raw_path"].decode("latin-1")
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        status, out, body = await client.get(target, headers)
        response = [
            (k.lower().encode(), v.encode()) for k, v in out if k.lower() not in HOP | {"date", "server"}
        ]
        await send({"type": "http.response.start", "status": status, "headers": response})
        await send({"type": "http.response.body", "body": body})

    return app


def rsgi_app(kind: str) -> Any:
    client = _Client(kind)

    class App:
        async def __rsgi__(self, scope: Any, protocol: Any) -> None:
            headers = [(k, v) for k, v in scope.headers.items() if k not in HOP]
            target = scope.path + ("?" + scope.query_string if scope.query_string else "")
            status, out, body = await client.get(target, headers)
            response = [(k, v) for k, v in out if k.lower() not in HOP | {"date", "server"}]
            protocol.response_bytes(status, response, body)

    return App()


def make_app() -> Any:
    interface, kind = os.environ["AB_VARIANT"].split("-")
    return asgi_app(kind) if interface == "asgi" else rsgi_app(kind)


# ---------------------------------------------------------------------------------------- the runner
def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tree_jiffies(pid: int) -> int:
    total = 0
    pids = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        pids.append(int(child))
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total


def _wrk(url: str, duration: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{duration}s", url], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"errors in the run against {url}:\n{out}")
    return float(match.group(1))


def _url(variant: str, port: int, gateways: dict[str, str]) -> str:
    path = "/api/v1/auth/jwks" if variant in gateways else "/api/v1/journal/entries?limit=20"
    return f"http://127.0.0.1:{port}{path}"


def _start_gateway(binary: str, port: int, upstream: str) -> subprocess.Popen[bytes]:
    from daybook_devtools.testing.tokens import TestSigner

    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "GATEWAY_JWKS_JSON": TestSigner().jwks_json,
        "GATEWAY_RATE_LIMITS": "off",
        **{f"GATEWAY_{name}_URL": upstream for name in ("USERS", "JOURNAL", "REMINDERS")},
    }
    return subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--gateway", action="append", default=[], metavar="NAME=PATH")
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    gateways = dict(g.split("=", 1) for g in args.gateway)
    variants += gateways
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory(prefix="daybook-ab-") as tmp:
        upstream_port = free_port()
        Path(tmp, "page.json").write_bytes(BODY)
        conf = Path(tmp, "nginx.conf")
        conf.write_text(
            f"daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;\n"
            "events { worker_connections 1024; }\n"
            f"http {{ access_log off; keepalive_requests 1000000; client_body_temp_path {tmp};\n"
            f"  server {{ listen 127.0.0.1:{upstream_port}; root {tmp}; default_type application/json;\n"
            "    location / { try_files /page.json =404; } } }\n"
        )
        procs = [subprocess.Popen([find_nginx() or "nginx", "-c", str(conf), "-p", tmp])]
        ports: dict[str, int] = {}
        try:
            for variant in variants:
                port = ports[variant] = free_port()
                if variant in gateways:
                    procs.append(_start_gateway(gateways[variant], port, f"http://127.0.0.1:{upstream_port}"))
                    continue
                interface = variant.split("-")[0]
                env = {
                    **os.environ,
                    "AB_VARIANT": variant,
                    "AB_UPSTREAM": f"http://127.0.0.1:{upstream_port}",
                }
                procs.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "granian",
                            "--interface",
                            interface,
                            "--workers",
                            "1",
                            "--loop",
                            "uvloop",
                            "--no-ws",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                            "--factory",
                            "clients_ab:make_app",
                            "--working-dir",
                            str(Path(__file__).parent),
                        ],
                        env=env,
                        stdout=subprocess.DEVNULL,
                    )
                )
            for port in [upstream_port, *ports.values()]:
                deadline = time.monotonic() + 30
                while not _listening(port):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"port {port} never opened")
                    time.sleep(0.1)
            by_port = dict(zip(variants, procs[1:], strict=True))
            results: dict[str, list[tuple[float, float]]] = {v: [] for v in variants}
            for v in variants:  # warm-up
                _wrk(_url(v, ports[v], gateways), 1)
            for round_ in range(args.rounds):
                for v in variants:
                    pid = by_port[v].pid
                    before = _tree_jiffies(pid)
                    rate = _wrk(_url(v, ports[v], gateways), args.duration)
                    cpu = (_tree_jiffies(pid) - before) / hz
                    results[v].append((rate, cpu / (rate * args.duration) * 1e6))
                print(
                    f"round {round_ + 1}: "
                    + ", ".join(
                        f"{v} {results[v][-1][0]:.0f}/s {results[v][-1][1]:.0f} µs" for v in variants
                    ),
                    flush=True,
                )
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)
    load = os.getloadavg()
    print(f"\nload average before/after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("| variant | req/s median (min-max) | CPU µs/request median (min-max) |\n|---|---|---|")
    for v in variants:
        rates = [r for r, _ in results[v]]
        cpus = [c for _, c in results[v]]
        print(
            f"| {v} | {statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) "
            f"| {statistics.median(cpus):.0f} ({min(cpus):.0f}-{max(cpus):.0f}) |"
        )


if __name__ == "__main__":
    main()
