"""Fuzz the public API with schemathesis, through the gateway of a freshly started stack.

Starts the stack as ``daybook up`` does (embedded PostgreSQL and NATS, free ports, a temporary
data dir), registers an account, and runs ``schemathesis run`` on the merged OpenAPI document
with every check and every phase; exits with schemathesis' status (0: no failure).

    uv run python .ci/fuzz.py [--openapi-out FILE] [--max-examples N] [schemathesis arguments …]

``--openapi-out`` also saves the merged document the fuzzer read (the TypeScript check's input).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Stack
from daybook_deploy.services import HTTP_SERVICES
from daybook_devtools.embedded import free_port

HERE = Path(__file__).resolve().parent
DEFAULT_EXAMPLES = 25


def sign_in(gateway: str, email: str, password: str) -> str:
    with httpx.Client(base_url=gateway, timeout=30) as client:
        client.post("/api/v1/auth/register", json={"email": email, "password": password}).raise_for_status()
        login = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        return str(login.json()["access_token"])


def set_off_a_notification(gateway: str, token: str) -> None:
    """A reminder firing once, 5 to 65 s from now: the notification operations need one to exist."""
    at = datetime.now(UTC) + timedelta(seconds=65)  # its minute starts at least 5 s ahead
    body = {"title": "fuzz", "message": "fuzz", "frequency": "once", "time": at.strftime("%H:%M")}
    body |= {"timezone": "UTC", "start_date": at.date().isoformat()}
    headers = {"Authorization": f"Bearer {token}"}
    httpx.post(f"{gateway}/api/v1/reminders", json=body, headers=headers, timeout=30).raise_for_status()


def tail_logs(log_dir: Path, lines: int = 30) -> None:
    for path in sorted(log_dir.glob("*.log")):
        print(f"--- {path.name}", file=sys.stderr)
        print("\n".join(path.read_text(errors="replace").splitlines()[-lines:]), file=sys.stderr)


def main(argv: list[str]) -> int:
    args = list(argv)
    openapi_out: Path | None = None
    if "--openapi-out" in args:
        at = args.index("--openapi-out")
        openapi_out = Path(args[at + 1])
        del args[at : at + 2]
    if "--max-examples" not in args:
        args = ["--max-examples", str(DEFAULT_EXAMPLES), *args]
    with tempfile.TemporaryDirectory(prefix="daybook-fuzz-") as tmp:
        root = Path(tmp)
        config = StackConfig(
            data_dir=root / "data",
            pg_port=free_port(),
            nats_port=free_port(),
            ports={spec.name: free_port() for spec in HTTP_SERVICES if spec.port},
            log_dir=root / "logs",
            pg_fsync=False,
            ready_timeout=120,
            # The gateway's rate limits stay as deployed: their 429s are documented answers.
            extra_env={"USERS_ACCESS_TOKEN_TTL_SECONDS": "7200"},
        )
        with Stack(config) as stack:
            gateway = stack.gateway_url
            if openapi_out is not None:
                document = httpx.get(f"{gateway}/api/v1/openapi.json", timeout=30)
                document.raise_for_status()
                openapi_out.write_bytes(document.content)
            email, password = f"fuzz-{uuid.uuid4().hex[:12]}@example.com", uuid.uuid4().hex
            token = sign_in(gateway, email, password)
            set_off_a_notification(gateway, token)
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
                "SCHEMATHESIS_HOOKS": "fuzz_hooks",
                "DAYBOOK_FUZZ_TOKEN": token,
                "DAYBOOK_FUZZ_EMAIL": email,
                "DAYBOOK_FUZZ_PASSWORD": password,
                "DAYBOOK_FUZZ_GATEWAY_URL": gateway,
                "DAYBOOK_FUZZ_USERS_URL": f"http://127.0.0.1:{config.ports['users']}",
            }
            command = [
                "schemathesis",
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"{gateway}/api/v1/openapi.json",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--request-timeout",
                "30",
                *args,
            ]
            started = time.monotonic()
            status = subprocess.call(command, env=env)
            print(f"schemathesis finished in {time.monotonic() - started:.0f} s with exit status {status}")
            if status != 0:
                tail_logs(root / "logs")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
