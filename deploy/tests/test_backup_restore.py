"""``daybook backup`` and ``daybook restore`` as an operator runs them, on real stacks.

A stack on its own data dir gets users, plain and encrypted entries, tags, tasks, goals,
reminders and a fired notification over HTTP; it is backed up while it runs and again once
stopped; the second backup is restored into a new data dir, whose every table must hold the
same rows (an ordered checksum per table), and a stack started there must serve the same
data.  Damaged and too-new backups are refused before anything is touched; a row-count
mismatch rolls the whole restore back; one service's schema is restored alone.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Stack
from daybook_deploy.restore import restore
from daybook_deploy.services import HTTP_SERVICES
from daybook_devtools.embedded import EmbeddedPostgres, free_port
from daybook_devtools.testing import databases as harness
from daybook_devtools.testing.databases import TestDatabase, drop_test_database

PASSWORD = "correct horse battery staple"
SCHEMAS = ("users", "journal", "reminders")
#: The column a restore changes on purpose: published events are queued again (the manifest's note).
REQUEUED = ("outbox", "published_at")
VIEWS = (
    "/api/v1/users/me",
    "/api/v1/journal/entries",
    "/api/v1/journal/trash",
    "/api/v1/journal/tags",
    "/api/v1/tasks",
    "/api/v1/goals",
    "/api/v1/reminders",
    "/api/v1/notifications",
)


def cli(
    *args: str, data_dir: Path, pg_port: int, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "NATS_URL"}}
    env.update(
        {"DAYBOOK_DATA_DIR": str(data_dir), "DAYBOOK_PG_PORT": str(pg_port), "DAYBOOK_PG_FSYNC_OFF": "1"}
    )
    env.update(extra or {})
    return subprocess.run(
        [sys.executable, "-m", "daybook_deploy.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def stack_config(data_dir: Path, pg_port: int) -> StackConfig:
    return StackConfig(
        data_dir=data_dir,
        pg_port=pg_port,
        nats_port=free_port(),
        ports={spec.name: free_port() for spec in HTTP_SERVICES},
        log_dir=data_dir.parent / f"{data_dir.name}-logs",
        ready_timeout=180,
        pg_fsync=False,
        extra_env={"GATEWAY_RATE_LIMITS": "off"},
    )


def checksums(data_dir: Path, pg_port: int, schemas: tuple[str, ...] = SCHEMAS) -> dict[str, tuple[int, str]]:
    """``schema.table`` -> (rows, md5 of its rows in order), read from the data dir's own server."""
    server = EmbeddedPostgres(data_dir / "postgres", pg_port)
    server.start()
    try:
        return asyncio.run(_checksums(server.admin_url("daybook"), schemas))
    finally:
        server.stop()


async def _checksums(url: str, schemas: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    conn = await asyncpg.connect(url)
    try:
        found = {}
        tables = await conn.fetch(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = ANY($1::text[]) ORDER BY 1, 2",
            list(schemas),
        )
        for schema, table in tables:
            columns = [
                f'"{row["attname"]}"'
                for row in await conn.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
                    "AND NOT attisdropped ORDER BY attnum",
                    f'"{schema}"."{table}"',
                )
                if (table, row["attname"]) != REQUEUED
            ]
            rows, digest = await conn.fetchrow(
                f"SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) "
                f'FROM (SELECT {", ".join(columns)} FROM "{schema}"."{table}") r'
            )
            found[f"{schema}.{table}"] = (rows, digest)
        return found
    finally:
        await conn.close()


def login(http: httpx.Client, email: str) -> dict[str, str]:
    r = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def register(http: httpx.Client) -> str:
    email = f"backup-{uuid.uuid4().hex[:10]}@example.com"
    r = http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return email


def post(http: httpx.Client, path: str, body: dict[str, object], auth: dict[str, str]) -> dict[str, object]:
    r = http.post(path, json=body, headers=auth)
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


def fill(http: httpx.Client) -> list[str]:
    """Two accounts with some of everything; returns their emails once a reminder has fired."""
    alice, bob = register(http), register(http)
    a, b = login(http, alice), login(http, bob)
    # The next whole minute at least 5 s ahead: fires at soon's HH:MM.
    soon = datetime.now(UTC) + timedelta(seconds=65)
    post(
        http,
        "/api/v1/reminders",
        {
            "title": "Water",
            "message": "the plants",
            "frequency": "once",
            "time": soon.strftime("%H:%M"),
            "timezone": "UTC",
            "start_date": soon.date().isoformat(),
        },
        a,
    )
    earlier = datetime.now(UTC) - timedelta(hours=2)
    post(
        http,
        "/api/v1/reminders",
        {
            "title": "Stretch",
            "message": "stand up",
            "frequency": "daily",
            "time": earlier.strftime("%H:%M"),
            "timezone": "Europe/Berlin",
        },
        a,
    )
    tag = post(http, "/api/v1/journal/tags", {"name": "garden", "color": "#22aa44"}, a)
    post(
        http,
        "/api/v1/journal/entries",
        {
            "title": "Plain",
            "content": "Tomatoes are red",
            "entry_date": "2026-05-01T08:00:00Z",
            "tag_ids": [tag["id"]],
        },
        a,
    )
    secret = {
        "ciphertext": base64.b64encode(os.urandom(200)).decode(),
        "wrapped_key": base64.b64encode(os.urandom(40)).decode(),
        "iv": base64.b64encode(os.urandom(12)).decode(),
        "wrap_iv": base64.b64encode(os.urandom(12)).decode(),
    }
    post(http, "/api/v1/journal/entries", {"encrypted": secret, "entry_date": "2026-05-02T08:00:00Z"}, a)
    gone = post(http, "/api/v1/journal/entries", {"content": "oops", "entry_date": "2026-05-03T08:00:00Z"}, a)
    assert http.delete(f"/api/v1/journal/entries/{gone['id']}", headers=a).status_code == 204
    post(http, "/api/v1/tasks", {"title": "Repot the basil", "priority": "high"}, a)
    goal = post(http, "/api/v1/goals", {"title": "Grow food"}, a)
    post(http, "/api/v1/goals", {"title": "Herbs", "parent_id": goal["id"]}, a)
    post(http, "/api/v1/journal/entries", {"content": "Bob's day", "entry_date": "2026-05-04T08:00:00Z"}, b)
    post(http, "/api/v1/tasks", {"title": "Bob's task"}, b)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        items = http.get("/api/v1/notifications", headers=a).json()["items"]
        if items:
            break
        time.sleep(1)
    else:
        pytest.fail("the once reminder did not fire within 180 s")
    return [alice, bob]


def views(http: httpx.Client, emails: list[str]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for email in emails:
        auth = login(http, email)
        for path in VIEWS:
            r = http.get(path, headers=auth)
            assert r.status_code == 200, (path, r.text)
            seen[f"{email} {path}"] = r.json()
    return seen


@dataclass
class Source:
    data_dir: Path
    pg_port: int
    emails: list[str]
    views: dict[str, object]
    live_backup: Path
    backup: Path


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    root = tmp_path_factory.mktemp("source")
    config = stack_config(root / "data", free_port())
    with Stack(config) as stack, httpx.Client(base_url=stack.gateway_url, timeout=30) as http:
        emails = fill(http)
        seen = views(http, emails)
        live = root / "live-backup"
        out = ok(cli("backup", "--to", str(live), data_dir=config.data_dir, pg_port=config.pg_port))
        assert "backup complete" in out
    stopped = root / "backup"
    ok(cli("backup", "--to", str(stopped), data_dir=config.data_dir, pg_port=config.pg_port))
    return Source(config.data_dir, config.pg_port, emails, seen, live, stopped)


@pytest.fixture(scope="module")
def restored(source: Source, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    data_dir, pg_port = tmp_path_factory.mktemp("restored") / "data", free_port()
    out = ok(
        cli("restore", str(source.backup), "--data-dir", str(data_dir), data_dir=data_dir, pg_port=pg_port)
    )
    assert "every row count matches the manifest" in out
    return data_dir, pg_port


def manifest(directory: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((directory / "manifest.json").read_text())
    return data


def tables_of(directory: Path, schema: str) -> dict[str, int]:
    for item in manifest(directory)["schemas"]:
        if item["schema"] == schema:
            return dict(item["tables"])
    raise AssertionError(f"{schema} not in the backup")


def test_a_running_stack_is_backed_up_with_a_manifest(source: Source) -> None:
    data = manifest(source.live_backup)
    assert [s["service"] for s in data["schemas"]] == ["users", "journal", "reminders"]
    assert tables_of(source.live_backup, "users")["users"] == 2
    journal = tables_of(source.live_backup, "journal")
    assert (journal["journal_entries"], journal["tasks"], journal["goals"], journal["tags"]) == (4, 2, 2, 1)
    reminders = tables_of(source.live_backup, "reminders")
    assert (reminders["reminders"], reminders["notifications"]) == (2, 1)
    assert data["server_version"] and data["created_at"] and "outbox" in str(data["events"])
    for item in data["schemas"]:
        assert len(item["sha256"]) == 64 and item["revision"].startswith(item["schema"])
        mode = (source.live_backup / item["file"]).stat().st_mode & 0o777
        assert mode == 0o600, oct(mode)


def test_every_table_has_the_same_rows_after_a_restore(source: Source, restored: tuple[Path, int]) -> None:
    before = checksums(source.data_dir, source.pg_port)
    after = checksums(*restored)
    assert before.keys() == after.keys()
    assert before["journal.journal_entries"][0] == 4
    assert {k: v for k, v in after.items() if v != before[k]} == {}


def test_the_restored_data_dir_serves_the_same_data(source: Source, restored: tuple[Path, int]) -> None:
    data_dir, pg_port = restored
    with (
        Stack(stack_config(data_dir, pg_port)) as stack,
        httpx.Client(base_url=stack.gateway_url, timeout=30) as http,
    ):
        assert views(http, source.emails) == source.views
        # The published events were queued again; the relays publish them in the new stack.
        deadline = time.monotonic() + 60
        while True:
            waiting = asyncio.run(_unpublished(stack.admin_url or ""))
            if waiting == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert waiting == 0


async def _unpublished(admin_url: str) -> int:
    from daybook_deploy.launcher import admin_database_url

    conn = await asyncpg.connect(admin_database_url(admin_url, "daybook"))
    try:
        return int(
            await conn.fetchval(
                "SELECT (SELECT count(*) FROM users.outbox WHERE published_at IS NULL)"
                " + (SELECT count(*) FROM journal.outbox WHERE published_at IS NULL)"
            )
        )
    finally:
        await conn.close()


def test_a_restore_into_an_existing_server(source: Source, pg_admin_url: str, tmp_path: Path) -> None:
    """``--database-url``: a database of its own on the test run's server, its roles already there."""
    database = TestDatabase(admin_url=pg_admin_url, name=f"restored_{uuid.uuid4().hex[:10]}")
    config = StackConfig(
        data_dir=tmp_path / "data",
        database_url=pg_admin_url,
        database=database.name,
        passwords={role.schema: role.password for role in harness.test_roles()},
    )
    said: list[str] = []
    try:
        restore(config, source.backup, [], said.append)
        after = asyncio.run(_checksums(database.admin_dsn(), SCHEMAS))
    finally:
        drop_test_database(database)
    assert any("every row count matches the manifest" in line for line in said)
    assert after == checksums(source.data_dir, source.pg_port)


def test_a_failed_backup_leaves_nothing_behind(source: Source, tmp_path: Path) -> None:
    target = tmp_path / "failed"
    # pg_dump (libpq) reads PGOPTIONS, the launcher's own connection (asyncpg) does not: the
    # snapshot is taken, then the first dump fails.
    broken = {"PGOPTIONS": "-c role=nobody_here"}  # no such role: the connection is refused
    done = cli("backup", "--to", str(target), data_dir=source.data_dir, pg_port=source.pg_port, extra=broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "pg_dump of schema users failed" in done.stderr
    assert not target.exists()


def test_a_damaged_dump_is_refused_before_anything_is_touched(source: Source, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(source.live_backup, damaged)
    dump = damaged / "journal.dump"
    raw = bytearray(dump.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    dump.write_bytes(bytes(raw))
    target = tmp_path / "never"
    done = cli("restore", str(damaged), "--data-dir", str(target), data_dir=target, pg_port=free_port())
    assert done.returncode == 1
    assert "journal.dump: sha256 differs" in done.stderr and "nothing was restored" in done.stderr
    assert not target.exists()


def test_a_backup_of_newer_code_is_refused(source: Source, tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    shutil.copytree(source.live_backup, newer)
    data = manifest(newer)
    data["schemas"][1]["revision"] = "journal_9999"
    (newer / "manifest.json").write_text(json.dumps(data))
    target = tmp_path / "never"
    done = cli("restore", str(newer), "--data-dir", str(target), data_dir=target, pg_port=free_port())
    assert done.returncode == 1
    assert "journal is at revision journal_9999, which this code does not know" in done.stderr
    assert not target.exists()


def test_a_row_count_that_differs_from_the_manifest_rolls_everything_back(
    source: Source, tmp_path: Path
) -> None:
    lying = tmp_path / "lying"
    shutil.copytree(source.backup, lying)
    data = manifest(lying)
    data["schemas"][2]["tables"]["notifications"] += 1
    (lying / "manifest.json").write_text(json.dumps(data))
    target, pg_port = tmp_path / "data", free_port()
    done = cli("restore", str(lying), "--data-dir", str(target), data_dir=target, pg_port=pg_port)
    assert done.returncode == 1
    assert "reminders.notifications has 1 rows, the manifest says 2" in done.stderr
    assert "rolled back" in done.stderr
    # The users and journal schemas came first in the same transaction: they are empty too.
    assert all(rows == 0 for rows, _ in checksums(target, pg_port).values())


def test_a_database_with_data_is_refused(source: Source, restored: tuple[Path, int]) -> None:
    data_dir, pg_port = restored
    before = checksums(data_dir, pg_port)
    done = cli("restore", str(source.backup), "--data-dir", str(data_dir), data_dir=data_dir, pg_port=pg_port)
    assert done.returncode == 1
    assert "not empty in schema users" in done.stderr
    assert checksums(data_dir, pg_port) == before


def test_one_service_schema_is_backed_up_and_restored_alone(
    source: Source, restored: tuple[Path, int], tmp_path: Path
) -> None:
    only = tmp_path / "journal-only"
    ok(cli("backup", "journal", "--to", str(only), data_dir=source.data_dir, pg_port=source.pg_port))
    assert [s["schema"] for s in manifest(only)["schemas"]] == ["journal"]
    assert sorted(p.name for p in only.iterdir()) == ["journal.dump", "manifest.json"]

    data_dir, pg_port = restored
    others_before = checksums(data_dir, pg_port, ("users", "reminders"))
    server = EmbeddedPostgres(data_dir / "postgres", pg_port)
    server.start()
    try:  # the README's way: move the damaged schema aside, restore it alone
        asyncio.run(_execute(server.admin_url("daybook"), "ALTER SCHEMA journal RENAME TO journal_aside"))
    finally:
        server.stop()
    # Another password for the journal role must not replace the one its running services use.
    other = {"DAYBOOK_JOURNAL_DB_PASSWORD": "not-the-password-journal-uses"}
    out = ok(
        cli(
            "restore",
            str(only),
            "journal",
            "--data-dir",
            str(data_dir),
            data_dir=data_dir,
            pg_port=pg_port,
            extra=other,
        )
    )
    assert "journal: revision" in out and "users:" not in out
    server.start()
    try:
        password = (data_dir / "secrets" / "journal-db-password").read_text().strip()
        url = f"postgresql://journal:{password}@127.0.0.1:{pg_port}/daybook"
        asyncio.run(_execute(url, "SELECT 1"))  # the old password still logs in
    finally:
        server.stop()
    assert checksums(data_dir, pg_port, ("journal",)) == checksums(
        source.data_dir, source.pg_port, ("journal",)
    )
    assert checksums(data_dir, pg_port, ("users", "reminders")) == others_before


async def _execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
