"""Every service through a PgBouncer in transaction mode (``daybook up --pgbouncer``).

The stack starts like ``daybook up --pgbouncer``: the services' ``<P>_DATABASE_URL`` is the
pooler and ``<P>_DIRECT_DATABASE_URL`` the server (for ``LISTEN``, session advisory locks and
migrations). Many clients at once write and read through the gateway — concurrent transactions
are what would expose a prepared statement or a setting leaking between them — and the pooler's
own statistics show each service's role used it. (The root tests run through it as well:
``DAYBOOK_PGBOUNCER=1`` in ``.ci/run``.)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Stack, StackError
from daybook_deploy.services import BY_NAME, HTTP_SERVICES
from daybook_devtools.embedded import free_port
from daybook_devtools.testing import databases as harness
from daybook_devtools.testing.databases import TestDatabase, drop_test_database

CLIENTS = 12
ROUNDS = 15


@pytest.fixture(scope="module")
def pooled_stack(
    pg_admin_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("pooled")
    database = f"pooled_{uuid.uuid4().hex[:12]}"
    config = StackConfig(
        data_dir=root / "data",
        database_url=pg_admin_url,
        nats_url=nats_url,
        ports={spec.name: free_port() for spec in HTTP_SERVICES},
        database=database,
        passwords={role.schema: role.password for role in harness.test_roles()},
        log_dir=root / "logs",
        ready_timeout=180,
        pgbouncer=True,
        pgbouncer_port=free_port(),
        extra_env={"GATEWAY_RATE_LIMITS": "off"},
    )
    stack = Stack(config)
    try:
        stack.start()
        stack.wait_ready()
    except StackError as exc:
        stack.stop()
        pytest.fail(f"the stack did not start: {exc}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()
        drop_test_database(TestDatabase(admin_url=pg_admin_url, name=database))


def test_services_get_the_pooled_and_the_direct_url(pooled_stack: Stack) -> None:
    env = pooled_stack.child_env(BY_NAME["journal"])
    port = pooled_stack.config.pgbouncer_port
    assert f"@127.0.0.1:{port}/" in env["JOURNAL_DATABASE_URL"]
    assert f":{port}/" not in env["JOURNAL_DIRECT_DATABASE_URL"]
    scheduler = pooled_stack.child_env(BY_NAME["reminders-scheduler"])
    assert scheduler["REMINDERS_DIRECT_DATABASE_URL"] == env["JOURNAL_DIRECT_DATABASE_URL"].replace(
        "journal", "reminders"
    )


async def _client(c: httpx.AsyncClient, n: int, failures: list[str]) -> None:
    email = f"pooled-{n}-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery staple"
    r = await c.post("/api/v1/auth/register", json={"email": email, "password": password, "full_name": "P"})
    if r.status_code != 201:
        failures.append(f"register {r.status_code} {r.text[:200]}")
        return
    r = await c.post("/api/v1/auth/login", json={"email": email, "password": password})
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for i in range(ROUNDS):
        answers = [
            await c.post(
                "/api/v1/journal/entries",
                json={"title": f"e{i}", "content": "pooled", "entry_date": "2026-01-22T10:00:00Z"},
                headers=auth,
            ),
            await c.get("/api/v1/journal/entries", params={"limit": 5}, headers=auth),
            await c.post("/api/v1/journal/tags", json={"name": f"t{n}-{i}"}, headers=auth),
            await c.get("/api/v1/tasks", headers=auth),
            await c.get("/api/v1/reminders", headers=auth),
            await c.get("/api/v1/users/me", headers=auth),
        ]
        failures.extend(
            f"{r.request.method} {r.request.url.path} {r.status_code} {r.text[:200]}"
            for r in answers
            if r.status_code >= 300
        )
        items = answers[1].json().get("items", []) if answers[1].status_code == 200 else []
        if len(items) != min(i + 1, 5):
            failures.append(f"client {n} round {i}: {len(items)} entries listed")


def test_concurrent_requests_through_the_pooler(pooled_stack: Stack) -> None:
    async def run() -> list[str]:
        failures: list[str] = []
        async with httpx.AsyncClient(base_url=pooled_stack.gateway_url, timeout=60) as c:
            await asyncio.gather(*(_client(c, n, failures) for n in range(CLIENTS)))
        return failures

    assert asyncio.run(run()) == []
    assert pooled_stack.pgbouncer is not None
    pools = pooled_stack.pgbouncer.show("POOLS")
    used = {row["user"] for row in pools if row["database"] == pooled_stack.config.database}
    assert {"users", "journal", "reminders"} <= used, pools
