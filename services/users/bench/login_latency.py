"""Login latency: p50/p95 of N sequential `POST /api/v1/auth/login` at the configured argon2 params.

Self-contained by default: starts an embedded PostgreSQL, migrates the users schema, serves the
users service with Granian (`daybook-users serve`, one worker) on a free port, registers one
account and times N sequential logins over one keep-alive HTTP connection:

    uv run python services/users/bench/login_latency.py            # 50 logins
    uv run python services/users/bench/login_latency.py --count 200

Against a running stack instead (e.g. through the gateway; the account is registered first):

    uv run python services/users/bench/login_latency.py --url http://127.0.0.1:8000

Not a test: the numbers depend on the machine. It also prints the bare argon2id verify time
so the HTTP/DB overhead on top of hashing is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PASSWORD = "benchmark password 1"


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[index]


@contextmanager
def local_users_service() -> Iterator[str]:
    """Embedded PostgreSQL + a migrated users schema + `daybook-users serve` on a free port."""
    from daybook_common.migrations import upgrade
    from daybook_devtools.embedded import EmbeddedPostgres, free_port, stop_process, wait_for_port
    from daybook_devtools.provision import ServiceRole, provision, role_url
    from daybook_users import SCHEMA, SCRIPT_LOCATION

    with tempfile.TemporaryDirectory(prefix="daybook-login-bench-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg" / "data", free_port())
        pg.start()
        proc: subprocess.Popen[bytes] | None = None
        try:
            role = ServiceRole(schema=SCHEMA, role=SCHEMA, password=uuid.uuid4().hex)
            asyncio.run(provision(pg.admin_url(), "daybook_bench", [role]))
            url = role_url(pg.admin_url(), "daybook_bench", role)
            upgrade(SCRIPT_LOCATION, url, SCHEMA)
            port = free_port()
            env = {
                **os.environ,
                "USERS_DATABASE_URL": url,
                "USERS_PORT": str(port),
                "USERS_SIGNING_KEY_FILE": str(Path(tmp) / "signing-key.pem"),
                "USERS_ACCESS_LOG": "false",
                "USERS_LOG_LEVEL": "WARNING",
            }
            proc = subprocess.Popen([sys.executable, "-m", "daybook_users.cli", "serve"], env=env)
            wait_for_port(port, 60, proc)
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while httpx.get(f"{base}/ready").status_code != 200:
                if time.monotonic() > deadline:
                    raise TimeoutError("the users service did not become ready")
                time.sleep(0.2)
            yield base
        finally:
            if proc is not None:
                stop_process(proc)
            pg.stop()


def bare_verify_ms(rounds: int = 20) -> float:
    from daybook_users.auth.passwords import Passwords
    from daybook_users.settings import Settings

    hasher = Passwords(Settings.from_env().passwords, 1).hasher
    hashed = hasher.hash(PASSWORD)
    started = time.perf_counter()
    for _ in range(rounds):
        hasher.verify(hashed, PASSWORD)
    return (time.perf_counter() - started) / rounds * 1000


def measure(base: str, count: int, warmup: int) -> list[float]:
    email = f"bench-{uuid.uuid4().hex[:12]}@example.com"
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        r.raise_for_status()
        body = {"email": email, "password": PASSWORD}
        for _ in range(warmup):
            client.post("/api/v1/auth/login", json=body).raise_for_status()
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            r = client.post("/api/v1/auth/login", json=body)
            samples.append((time.perf_counter() - started) * 1000)
            r.raise_for_status()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="base URL of a running users service or gateway")
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    if args.url:
        samples = measure(args.url.rstrip("/"), args.count, args.warmup)
        target = args.url
    else:
        with local_users_service() as base:
            samples = measure(base, args.count, args.warmup)
        target = "local users service (Granian, 1 worker, embedded PostgreSQL)"

    from daybook_users.settings import Settings

    p = Settings.from_env().passwords
    print(f"target: {target}")
    print(
        f"argon2id: m={p.memory_kib} KiB, t={p.time_cost}, p={p.parallelism}; cpus={os.cpu_count()}; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )
    print(f"bare argon2id verify: {bare_verify_ms():.1f} ms")
    print(
        f"{len(samples)} sequential logins: p50 {percentile(samples, 0.50):.1f} ms, "
        f"p95 {percentile(samples, 0.95):.1f} ms, mean {statistics.fmean(samples):.1f} ms, "
        f"min {min(samples):.1f} ms, max {max(samples):.1f} ms"
    )


if __name__ == "__main__":
    main()
