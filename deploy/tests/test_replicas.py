"""``daybook up --scale``: several processes of a service behind the gateway, and what happens when
one of them dies under load.

The failover test starts the real stack with two journal replicas (the launcher's ``Stack``,
like ``daybook up --scale journal=2``), puts reads and keyed creates through the gateway from
several clients at once, SIGKILLs one replica in the middle, and counts: no read fails, no
keyed create fails or is done twice.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from daybook_deploy.config import ConfigError, StackConfig, parse_scale
from daybook_deploy.launcher import Stack, StackError
from daybook_deploy.services import BY_NAME, HTTP_SERVICES
from daybook_devtools.embedded import free_port, port_is_free
from daybook_devtools.testing import databases as harness
from daybook_devtools.testing.databases import TestDatabase, drop_test_database

CLIENTS = 8
LOAD_SECONDS = 8.0
KILL_AFTER = 3.0


def test_parse_scale() -> None:
    assert parse_scale("journal=2, reminders=2,gateway=2") == {"journal": 2, "reminders": 2, "gateway": 2}
    assert parse_scale("") == {}
    for bad, says in [
        ("journal", "NAME=COUNT"),
        ("nope=2", "NAME=COUNT"),
        ("journal=two", "must be a number"),
        ("journal=0", "1 to 9"),
        ("journal=10", "1 to 9"),
    ]:
        with pytest.raises(ConfigError, match=says):
            parse_scale(bad)
    assert StackConfig.from_env({"DAYBOOK_SCALE": "journal=3"}).scale == {"journal": 3}


def test_replicas_get_their_ports_and_the_gateway_all_of_them(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, scale={"journal": 3, "gateway": 2})
    stack = Stack(config)
    journal = [stack.child_env(BY_NAME["journal"], i)["JOURNAL_PORT"] for i in range(3)]
    assert journal == ["8002", "8012", "8022"]
    assert stack.child_env(BY_NAME["gateway"], 1)["GATEWAY_PORT"] == "8010"
    gateway = stack.child_env(BY_NAME["gateway"])
    assert (
        gateway["GATEWAY_JOURNAL_URL"] == "http://127.0.0.1:8002,http://127.0.0.1:8012,http://127.0.0.1:8022"
    )
    assert gateway["GATEWAY_USERS_URL"] == "http://127.0.0.1:8001"
    scaled_users = Stack(StackConfig(data_dir=tmp_path, scale={"users": 2})).child_env(BY_NAME["gateway"])
    assert scaled_users["GATEWAY_JWKS_URL"] == (
        "http://127.0.0.1:8001/api/v1/auth/jwks,http://127.0.0.1:8011/api/v1/auth/jwks"
    )
    assert config.replica_urls("reminders") == ["http://127.0.0.1:8003"]


def _base_ports() -> dict[str, int]:
    """Free ports whose replica ports (+10) are free too."""
    ports: dict[str, int] = {}
    while len(ports) < len(HTTP_SERVICES):
        port = free_port()
        if port + 10 < 65536 and port_is_free(port + 10) and port not in ports.values():
            ports[HTTP_SERVICES[len(ports)].name] = port
    return ports


@pytest.fixture(scope="module")
def scaled_stack(
    pg_admin_url: str, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("scaled")
    database = f"scaled_{uuid.uuid4().hex[:12]}"
    config = StackConfig(
        data_dir=root / "data",
        database_url=pg_admin_url,
        nats_url=nats_url,
        ports=_base_ports(),
        database=database,
        passwords={role.schema: role.password for role in harness.test_roles()},
        log_dir=root / "logs",
        ready_timeout=180,
        scale={"journal": 2},
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


@dataclass
class Tally:
    reads: int = 0
    creates: int = 0
    replayed: int = 0
    failures: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # Idempotency-Key -> entry id


async def _client(c: httpx.AsyncClient, auth: dict[str, str], tally: Tally, until: float, n: int) -> None:
    i = 0
    while time.monotonic() < until:
        i += 1
        if i % 2:
            r = await c.get("/api/v1/journal/entries", params={"limit": 5}, headers=auth)
            if r.status_code == 200:
                tally.reads += 1
            else:
                tally.failures.append(f"GET {r.status_code} {r.text[:200]}")
            continue
        key = f"failover-{n}-{i}"
        r = await c.post(
            "/api/v1/journal/entries",
            json={"title": key, "content": "failover", "entry_date": "2026-01-22T10:00:00Z"},
            headers={**auth, "Idempotency-Key": key},
        )
        if r.status_code == 201:
            tally.creates += 1
            tally.replayed += r.headers.get("idempotent-replayed") == "true"
            tally.created[key] = r.json()["id"]
        else:
            tally.failures.append(f"POST {r.status_code} {r.text[:200]}")


async def _load(gateway: str, auth: dict[str, str], kill: asyncio.Event) -> Tally:
    tally = Tally()
    until = time.monotonic() + LOAD_SECONDS
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as c:
        clients = [asyncio.create_task(_client(c, auth, tally, until, n)) for n in range(CLIENTS)]
        await asyncio.sleep(KILL_AFTER)
        kill.set()
        await asyncio.gather(*clients)
    return tally


def _account(gateway: str) -> dict[str, str]:
    email = f"failover-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery staple"
    with httpx.Client(base_url=gateway, timeout=30) as c:
        r = c.post("/api/v1/auth/register", json={"email": email, "password": password, "full_name": "F"})
        assert r.status_code == 201, r.text
        r = c.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_journal_replica_killed_mid_load_fails_nothing(scaled_stack: Stack) -> None:
    stack = scaled_stack
    gateway = stack.gateway_url
    auth = _account(gateway)
    victim = next(child for child in stack.children if child.name == "journal-2")
    survivor = next(child for child in stack.children if child.name == "journal")

    async def run() -> Tally:
        kill = asyncio.Event()

        async def killer() -> None:
            await kill.wait()
            os.killpg(victim.proc.pid, signal.SIGKILL)

        killing = asyncio.create_task(killer())
        tally = await _load(gateway, auth, kill)
        await killing
        return tally

    tally = asyncio.run(run())
    print(
        f"\nfailover: {tally.reads} reads, {tally.creates} keyed creates "
        f"({tally.replayed} replayed), {len(tally.failures)} failures"
    )
    assert victim.exit_code() == -signal.SIGKILL
    assert survivor.exit_code() is None
    assert tally.failures == []
    assert tally.reads > 0 and tally.creates > 0
    # Both replicas took part before the kill (the gateway balanced them) …
    assert victim.log_path is not None and "/api/v1/journal" in victim.log_path.read_text(errors="replace")
    # … the gateway noticed the dead one and sent its share to the other …
    assert stack.config.log_dir is not None
    gateway_log = (stack.config.log_dir / "gateway.log").read_text(errors="replace")
    retries = gateway_log.count("retrying on another replica")
    print(f"failover: the gateway retried {retries} requests on the surviving replica")
    assert retries > 0
    # … and every key made exactly one entry.
    assert len(set(tally.created.values())) == len(tally.created) == tally.creates
    with httpx.Client(base_url=gateway, timeout=30) as c:
        titles: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = c.get("/api/v1/journal/entries", params=params, headers=auth).json()
            titles.extend(item["title"] for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
    assert sorted(titles) == sorted(tally.created)
