"""Gateway benchmark: added latency and throughput of the gateway in front of a real service.

Starts, on loopback only, the real journal service app (Granian, one worker), the gateway
(``daybook-gateway serve``, one worker) in front of it, and — when installed — nginx and the
Litestar-handler proxy variant (``litestar_proxy.py``) in front of the same upstream, then runs
wrk against each in the same run, interleaved over several rounds (medians are reported):

* latency: 1 connection (no queueing), p50/p99 — what one request pays for the extra hop;
* throughput: 32 connections, requests/s — how much the gateway can push on this machine.

Two request kinds:

* ``GET /health`` — the gateway's own health route vs the service's (as asked by issue 6);
* ``GET /api/v1/journal/bench-probe`` with a valid bearer token — proxied through the gateway
  (token verified, forwarded, answered by the journal service) vs sent to the service directly.
  The service does identical work in both cases, so the difference is what the gateway adds.

Usage: ``uv run python services/gateway/bench/run.py [--duration 10] [--rounds 3]``
(needs ``wrk``: ``apt-get install -y wrk``; nginx is optional).  Only 127.0.0.1 is targeted and
every wrk run is bounded by ``--duration``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from daybook_bench.procs import find_nginx, listening, nginx_conf
from daybook_devtools.embedded import free_port
from daybook_devtools.testing.tokens import TestSigner

BENCH_DIR = Path(__file__).resolve().parent
PROBE = "/api/v1/journal/bench-probe"
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, connections: int, duration: int, headers: list[str]) -> dict[str, float]:
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, check=True, timeout=duration + 30
    ).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        result[f"p{pct}_ms"] = float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non_2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    parser.add_argument("--connections", type=int, default=32, help="connections of the throughput runs")
    parser.add_argument(
        "--no-access-log", action="store_true", help="turn the gateway's access log off (it is on by default)"
    )
    parser.add_argument("--no-nginx", action="store_true")
    parser.add_argument("--no-litestar", action="store_true", help="skip the Litestar-handler proxy variant")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install -y wrk)")

    signer = TestSigner()
    token = signer.token("018f0000-0000-7000-8000-000000000001", ttl=24 * 3600)
    auth = [f"Authorization: Bearer {token}"]
    ports = {name: free_port() for name in ("journal", "gateway", "nginx", "litestar")}
    bin_dir = Path(sys.executable).parent
    base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    journal_env = {
        **base_env,
        "JOURNAL_JWKS_JSON": signer.jwks_json,
        "JOURNAL_ACCESS_LOG": "false",
        "JOURNAL_LOG_LEVEL": "WARNING",
    }
    gateway_env = {
        **base_env,
        "GATEWAY_JOURNAL_URL": f"http://127.0.0.1:{ports['journal']}",
        "GATEWAY_JWKS_JSON": signer.jwks_json,
        "GATEWAY_ACCESS_LOG": "false" if args.no_access_log else "true",
        "GATEWAY_LOG_LEVEL": "WARNING" if args.no_access_log else "INFO",
    }
    targets: dict[str, tuple[str, str]] = {}  # name -> (health url, probe url)
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        work = Path(tmp)
        stack = []
        journal = listening(
            [str(bin_dir / "daybook-journal"), "serve", "--port", str(ports["journal"])],
            ports["journal"],
            work / "journal.log",
            env=journal_env,
        )
        gateway = listening(
            [str(bin_dir / "daybook-gateway"), "serve", "--port", str(ports["gateway"])],
            ports["gateway"],
            work / "gateway.log",
            env=gateway_env,
        )
        stack += [journal, gateway]
        for name in ("journal", "gateway"):
            url = f"http://127.0.0.1:{ports[name]}"
            targets[name] = (url + "/health", url + PROBE)
        if not args.no_litestar:
            stack.append(
                listening(
                    [
                        str(bin_dir / "granian"),
                        "--interface",
                        "asgi",
                        "--factory",
                        "--no-log",
                        "--port",
                        str(ports["litestar"]),
                        "litestar_proxy:create_app",
                    ],
                    ports["litestar"],
                    work / "litestar.log",
                    env={**gateway_env, "PYTHONPATH": str(BENCH_DIR)},
                )
            )
            url = f"http://127.0.0.1:{ports['litestar']}"
            targets["litestar-handler proxy"] = (url + "/health", url + PROBE)
        nginx = find_nginx()
        if nginx and not args.no_nginx:
            conf = nginx_conf(work, ports["nginx"], f"127.0.0.1:{ports['journal']}")
            stack.append(
                listening(
                    [nginx, "-e", str(work / "nginx-error.log"), "-c", str(conf), "-p", str(work)],
                    ports["nginx"],
                    work / "nginx.log",
                    env=base_env,
                )
            )
            url = f"http://127.0.0.1:{ports['nginx']}"
            targets["nginx"] = (url + "/health", url + PROBE)

        from contextlib import ExitStack

        with ExitStack() as running:
            for ctx in stack:
                running.enter_context(ctx)
            for health, probe in targets.values():  # warm-up: pools, token cache, JIT-free but caches
                wrk(health, 4, 2, [])
                wrk(probe, 4, 2, auth)
            samples: dict[tuple[str, str, str], list[dict[str, float]]] = {}
            for _ in range(args.rounds):
                for name, (health, probe) in targets.items():
                    for kind, url in (("health", health), ("proxied", probe)):
                        if kind == "health" and name in {"nginx", "litestar-handler proxy"}:
                            continue  # only the gateway's own /health vs the service's is asked for
                        headers = auth if kind == "proxied" else []
                        samples.setdefault((name, kind, "latency"), []).append(
                            wrk(url, 1, args.duration, headers)
                        )
                        samples.setdefault((name, kind, "throughput"), []).append(
                            wrk(url, args.connections, args.duration, headers)
                        )
                time.sleep(0.5)

    def med(key: tuple[str, str, str], field: str) -> float:
        return statistics.median(s[field] for s in samples[key])

    results = {
        f"{name}/{kind}": {
            "p50_ms": med((name, kind, "latency"), "p50_ms"),
            "p99_ms": med((name, kind, "latency"), "p99_ms"),
            "rps_1conn": med((name, kind, "latency"), "rps"),
            f"rps_{args.connections}conn": med((name, kind, "throughput"), "rps"),
            f"p50_ms_{args.connections}conn": med((name, kind, "throughput"), "p50_ms"),
            f"p99_ms_{args.connections}conn": med((name, kind, "throughput"), "p99_ms"),
        }
        for (name, kind, _) in samples
    }
    print(
        f"\nwrk: latency runs 1 connection, throughput runs {args.connections} connections, "
        f"{args.duration}s each, {args.rounds} interleaved rounds (medians); upstream = journal service"
    )
    print(
        f"{'target':38} {'p50 ms':>8} {'p99 ms':>8} {'req/s 1c':>10} {'req/s ' + str(args.connections) + 'c':>10}"
    )
    for key, r in results.items():
        print(
            f"{key:38} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {r['rps_1conn']:10.0f} "
            f"{r[f'rps_{args.connections}conn']:10.0f}"
        )
    rc = f"rps_{args.connections}conn"
    direct, via = results["journal/proxied"], results["gateway/proxied"]
    summary = {
        "added_p50_ms_proxied": via["p50_ms"] - direct["p50_ms"],
        "added_p99_ms_proxied": via["p99_ms"] - direct["p99_ms"],
        "added_p50_ms_health": results["gateway/health"]["p50_ms"] - results["journal/health"]["p50_ms"],
        "added_p99_ms_health": results["gateway/health"]["p99_ms"] - results["journal/health"]["p99_ms"],
        "throughput_ratio_gateway_vs_direct": via[rc] / direct[rc],
    }
    if "nginx/proxied" in results:
        summary["throughput_ratio_gateway_vs_nginx"] = via[rc] / results["nginx/proxied"][rc]
    if "litestar-handler proxy/proxied" in results:
        summary["throughput_ratio_gateway_vs_litestar_handler"] = (
            via[rc] / results["litestar-handler proxy/proxied"][rc]
        )
    print()
    for key, value in summary.items():
        print(f"{key:48} {value:8.3f}")
    if args.json:
        args.json.write_text(
            json.dumps({"results": results, "summary": summary, "args": vars(args)}, indent=2, default=str)
        )


if __name__ == "__main__":
    main()
