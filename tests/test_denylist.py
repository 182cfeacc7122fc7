"""A deleted account's access token is refused everywhere, whatever restarts, and writes nothing.

These tests start a stack of their own on a NATS server of their own (its own store dir and
port), because they SIGKILL that server and start it again with the same store, as a crash
or an upgrade does, and restart services while it is down.  They speak HTTP to the gateway
and to each service directly; what is stored is read with the database's superuser.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Child, Stack, StackError, child_command, stop_group
from daybook_deploy.services import HTTP_SERVICES
from daybook_devtools.embedded import EmbeddedNats, free_port
from daybook_devtools.testing import databases as harness
from daybook_devtools.testing.databases import TestDatabase, drop_test_database

PASSWORD = "correct horse battery staple"
REMINDER = {"title": "r", "message": "m", "frequency": "daily", "time": "09:00", "timezone": "Europe/Berlin"}
#: What a deleted account's token must be refused on, on every service (direct) and the gateway.
WRITES: list[tuple[str, str, dict[str, object]]] = [
    ("journal", "/api/v1/journal/entries", {"content": "late", "entry_date": "2026-01-22T10:00:00Z"}),
    ("journal", "/api/v1/tasks", {"title": "late"}),
    ("reminders", "/api/v1/reminders", REMINDER),
]
READS = [
    ("users", "/api/v1/users/me"),
    ("journal", "/api/v1/journal/entries"),
    ("reminders", "/api/v1/reminders"),
]
USER_ROWS = {
    "journal": ("journal_entries", "tags", "tasks", "journal_entry_tags", "task_tags", "idempotency_keys"),
    "reminders": ("reminders", "notifications", "idempotency_keys"),
}


class DenyStack:
    """A running stack, its NATS (killable) and its database."""

    def __init__(self, stack: Stack, nats: EmbeddedNats, admin_dsn: str) -> None:
        self.stack, self.nats, self.admin_dsn = stack, nats, admin_dsn
        self.http = httpx.Client(base_url=stack.gateway_url, timeout=30)

    def url(self, service: str) -> str:
        return self.stack.gateway_url if service == "gateway" else self.stack.config.url_for(service)

    def kill_nats(self) -> None:
        assert self.nats.proc is not None
        self.nats.proc.kill()  # SIGKILL: no clean shutdown
        self.nats.proc.wait(timeout=10)
        self.nats.proc = None

    def start_nats(self) -> None:
        self.nats.start()  # same store dir, same port

    def restart(self, name: str) -> None:
        """Stop one process (SIGTERM to its group) and start it again with the same command."""
        child = next(c for c in self.stack.children if c.name == name)
        stop_group(child.proc, 10)
        log = open(child.log_path or Path("/dev/null"), "ab")  # noqa: SIM115 - inherited, then closed
        try:
            proc = subprocess.Popen(
                child_command(child.spec),
                env=self.stack.child_env(child.spec),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        proc.stdin = None
        index = self.stack.children.index(child)
        self.stack.children[index] = Child(spec=child.spec, proc=proc, log_path=child.log_path)
        wait_for(lambda: _status(self.url(name) + "/ready") == 200, 60, f"{name} ready again")

    def account(self) -> tuple[str, dict[str, str]]:
        email = f"deny-{uuid.uuid4().hex[:10]}@example.com"
        r = self.http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        user_id = str(r.json()["id"])
        r = self.http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return user_id, {"Authorization": f"Bearer {r.json()['access_token']}"}

    def rows(self, user_id: str) -> dict[str, int]:
        async def count() -> dict[str, int]:
            conn = await asyncpg.connect(self.admin_dsn)
            try:
                return {
                    f"{schema}.{table}": int(
                        await conn.fetchval(
                            f"SELECT count(*) FROM {schema}.{table} WHERE user_id = $1", uuid.UUID(user_id)
                        )
                    )
                    for schema, tables in USER_ROWS.items()
                    for table in tables
                }
            finally:
                await conn.close()

        return asyncio.run(count())


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=3).status_code
    except httpx.HTTPError:
        return None


def _status_with(url: str, headers: dict[str, str]) -> int | None:
    try:
        return httpx.get(url, headers=headers, timeout=3).status_code
    except httpx.HTTPError:
        return None


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            pytest.fail(f"not within {timeout:.0f}s: {what}", pytrace=False)
        time.sleep(0.1)
    return time.monotonic() - began


def answers(env: DenyStack, auth: dict[str, str]) -> dict[str, int]:
    """The status of every read and every create, on each service directly and through the gateway."""
    seen: dict[str, int] = {}
    for via in ("direct", "gateway"):
        for service, path in READS:
            base = env.url(service if via == "direct" else "gateway")
            seen[f"GET {path} ({via})"] = httpx.get(base + path, headers=auth, timeout=30).status_code
        for service, path, body in WRITES:
            base = env.url(service if via == "direct" else "gateway")
            seen[f"POST {path} ({via})"] = httpx.post(
                base + path, json=body, headers=auth, timeout=30
            ).status_code
    return seen


def all_refused(env: DenyStack, auth: dict[str, str]) -> bool:
    return set(answers(env, auth).values()) == {401}


@pytest.fixture(scope="module")
def env(pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DenyStack]:
    root = tmp_path_factory.mktemp("deny-stack")
    nats = EmbeddedNats(root / "nats" / "store", free_port())
    nats.start()
    database = f"deny_{uuid.uuid4().hex[:12]}"
    config = StackConfig(
        data_dir=root / "data",
        database_url=pg_admin_url,
        nats_url=nats.url,
        ports={spec.name: free_port() for spec in HTTP_SERVICES},
        database=database,
        passwords={role.schema: role.password for role in harness.test_roles()},
        log_dir=root / "logs",
        ready_timeout=90,
        extra_env={"GATEWAY_RATE_LIMIT_REGISTER": "1000/60"},
    )
    stack = Stack(config)
    test_db = TestDatabase(admin_url=pg_admin_url, name=database)
    try:
        try:
            stack.start()
            stack.wait_ready()
        except StackError as exc:
            pytest.fail(f"the stack did not start: {exc}", pytrace=False)
        deny = DenyStack(stack, nats, test_db.admin_dsn())
        yield deny
        deny.http.close()
    finally:
        stack.stop()
        if nats.proc is not None:
            nats.stop()
        drop_test_database(test_db)


def test_a_deleted_accounts_token_is_refused_everywhere_after_a_nats_restart(env: DenyStack) -> None:
    user_id, auth = env.account()
    assert set(answers(env, auth).values()) <= {200, 201}, answers(env, auth)

    env.kill_nats()
    env.start_nats()
    assert env.http.delete("/api/v1/users/me", headers=auth).status_code == 204

    def refused_by(service: str) -> bool:
        return _status_with(env.url(service) + READS[1 if service == "journal" else 2][1], auth) == 401

    first = wait_for(lambda: refused_by("journal") and refused_by("reminders"), 30, "refused by both")
    took = first + wait_for(lambda: all_refused(env, auth), 30, "the token refused by every service")
    print(f"refused by journal and reminders {first:.2f}s after the DELETE (NATS restarted just before)")
    print(f"every read and create refused {took:.2f}s after it")
    wait_for(lambda: not any(env.rows(user_id).values()), 30, "the account erased")
    time.sleep(1)  # nothing is accepted, and nothing comes back, later either
    assert set(answers(env, auth).values()) == {401}
    assert {k: n for k, n in env.rows(user_id).items() if n} == {}


def test_a_deleted_accounts_token_stays_refused_after_service_restarts_while_nats_is_down(
    env: DenyStack,
) -> None:
    _user_id, auth = env.account()
    assert env.http.delete("/api/v1/users/me", headers=auth).status_code == 204
    took = wait_for(lambda: all_refused(env, auth), 30, "the token refused by every service")
    print(f"NATS up: every read and create refused {took:.2f}s after the DELETE")

    env.kill_nats()
    try:
        for name in ("journal", "reminders", "gateway"):
            env.restart(name)
        seen = answers(env, auth)  # at once: nothing to wait for, the processes know from the start
        assert {k: v for k, v in seen.items() if v != 401} == {}
    finally:
        env.start_nats()
    assert {k: v for k, v in answers(env, auth).items() if v != 401} == {}


def test_a_late_write_of_an_erased_account_is_refused_and_leaves_nothing(env: DenyStack) -> None:
    """A create that passed the token check just before the deletion was known, and writes after
    the erasure began: it is refused, and the account's data is gone when the erasure ends."""
    user_id, auth = env.account()
    tag = env.http.post("/api/v1/journal/tags", json={"name": "held", "color": "#112233"}, headers=auth)
    assert tag.status_code == 201, tag.text
    tag_id = tag.json()["id"]
    entry = env.http.post(
        "/api/v1/journal/entries", json={"content": "x", "entry_date": "2026-01-22T10:00:00Z"}, headers=auth
    )
    assert entry.status_code == 201, entry.text

    async def hold_tag_then(release: asyncio.Event, held: threading.Event) -> None:
        conn = await asyncpg.connect(env.admin_dsn)
        try:
            async with conn.transaction():
                await conn.execute("SELECT 1 FROM journal.tags WHERE id = $1 FOR UPDATE", uuid.UUID(tag_id))
                held.set()
                await release.wait()
        finally:
            await conn.close()

    loop = asyncio.new_event_loop()
    release, held = asyncio.Event(), threading.Event()
    holder = threading.Thread(target=loop.run_until_complete, args=(hold_tag_then(release, held),))
    holder.start()
    late: dict[str, httpx.Response] = {}
    try:
        assert held.wait(10)
        # The create's token is checked now; it then waits for the tag, before inserting its task.
        writer = threading.Thread(
            target=lambda: late.update(
                r=httpx.post(
                    env.url("gateway") + "/api/v1/tasks",
                    json={"title": "late", "tag_ids": [tag_id]},
                    headers=auth,
                    timeout=60,
                )
            )
        )
        writer.start()
        wait_for(lambda: waiting_on_locks(env) >= 1, 15, "the create waiting for the tag")
        assert env.http.delete("/api/v1/users/me", headers=auth).status_code == 204
        # The erasure has passed entries and tasks and now waits for the same tag.
        wait_for(lambda: env.rows(user_id)["journal.journal_entries"] == 0, 30, "the erasure under way")
        wait_for(lambda: waiting_on_locks(env) >= 2, 15, "the erasure waiting for the tag")
    finally:
        loop.call_soon_threadsafe(release.set)
        holder.join(10)
    writer.join(60)
    assert late["r"].status_code == 401, late["r"].text
    wait_for(lambda: not any(env.rows(user_id).values()), 30, "the account erased")
    time.sleep(0.5)
    assert {k: n for k, n in env.rows(user_id).items() if n} == {}


def waiting_on_locks(env: DenyStack) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(env.admin_dsn)
        try:
            return int(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
        finally:
            await conn.close()

    with contextlib.suppress(Exception):
        return asyncio.run(count())
    return 0
