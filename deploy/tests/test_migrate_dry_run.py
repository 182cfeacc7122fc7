"""``daybook migrate --dry-run`` and the backup ``daybook migrate`` takes first, through the command.

A data dir is migrated, then journal and users are taken back a few revisions and given a row:
the dry run must list every pending revision with its statements (the CONCURRENTLY ones skipped
with the reason) and leave the database as it was; the real run must back those schemas up
first (not on an empty database, not with ``--no-backup``, not when nothing is pending).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

import daybook_journal
import daybook_reminders
import daybook_users
from daybook_common.migrations import downgrade, head_revision
from daybook_devtools.embedded import EmbeddedPostgres, free_port
from daybook_devtools.provision import ServiceRole, role_url

HEADS = {
    "users": head_revision(daybook_users.SCRIPT_LOCATION),
    "journal": head_revision(daybook_journal.SCRIPT_LOCATION),
}


def cli(*args: str, data_dir: Path, pg_port: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "NATS_URL"}}
    env.update(
        {"DAYBOOK_DATA_DIR": str(data_dir), "DAYBOOK_PG_PORT": str(pg_port), "DAYBOOK_PG_FSYNC_OFF": "1"}
    )
    return subprocess.run(
        [sys.executable, "-m", "daybook_deploy.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


class Database:
    def __init__(self, data_dir: Path, pg_port: int) -> None:
        self.data_dir, self.pg_port = data_dir, pg_port

    def run(self, sql: str) -> list[asyncpg.Record]:
        server = EmbeddedPostgres(self.data_dir / "postgres", self.pg_port)
        server.start()
        try:
            return asyncio.run(_fetch(server.admin_url("daybook"), sql))
        finally:
            server.stop()

    def revisions(self) -> dict[str, str]:
        rows = self.run(
            "SELECT 'users' AS s, version_num FROM users.alembic_version "
            "UNION ALL SELECT 'journal', version_num FROM journal.alembic_version"
        )
        return {row["s"]: row["version_num"] for row in rows}

    def take_back(self, revisions: dict[str, str]) -> None:
        """Downgrade each named history to the given revision, as its own role."""
        server = EmbeddedPostgres(self.data_dir / "postgres", self.pg_port)
        server.start()
        try:
            for schema, revision in revisions.items():
                password = (self.data_dir / "secrets" / f"{schema}-db-password").read_text().strip()
                url = role_url(server.admin_url(), "daybook", ServiceRole(schema, schema, password))
                location = {"users": daybook_users, "journal": daybook_journal}[schema].SCRIPT_LOCATION
                downgrade(location, url, schema, revision)
        finally:
            server.stop()


async def _fetch(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Database:
    db = Database(tmp_path_factory.mktemp("migrate") / "data", free_port())
    ok(cli("migrate", data_dir=db.data_dir, pg_port=db.pg_port))
    assert not (db.data_dir / "backups").exists(), "an empty database needs no backup"
    db.take_back({"journal": "journal_0004", "users": "users_0005"})
    db.run("INSERT INTO users.inbox (event_id, subject) VALUES (gen_random_uuid(), 'users.test')")
    return db


def test_the_dry_run_tries_every_pending_revision_and_changes_nothing(database: Database) -> None:
    out = ok(cli("migrate", "--dry-run", data_dir=database.data_dir, pg_port=database.pg_port))
    assert f"users: users_0005 -> {HEADS['users']}, " in out
    assert "ALTER TABLE users.users ADD COLUMN IF NOT EXISTS version" in out
    assert f"journal: journal_0004 -> {HEADS['journal']}, " in out
    assert "CREATE TABLE journal.denied_users" in out
    for skipped in ("journal_0006", "journal_0007", "journal_0010", "journal_0011"):
        section = out.split(f"  {skipped}  ", 1)[1]
        assert section.splitlines()[1].strip().startswith("skipped: runs outside a transaction"), skipped
    assert (
        f"reminders: nothing pending ({head_revision(daybook_reminders.SCRIPT_LOCATION)} is the head)" in out
    )
    assert "SAVEPOINT" not in out
    assert "everything was rolled back" in out
    assert database.revisions() == {"users": "users_0005", "journal": "journal_0004"}
    assert database.run("SELECT to_regclass('journal.denied_users') AS t")[0]["t"] is None
    assert not (database.data_dir / "backups").exists()


def test_migrate_backs_up_the_pending_schemas_first_when_they_hold_rows(database: Database) -> None:
    out = ok(cli("migrate", data_dir=database.data_dir, pg_port=database.pg_port))
    assert "backing up first" in out
    (taken,) = (database.data_dir / "backups").iterdir()
    manifest = json.loads((taken / "manifest.json").read_text())
    assert {s["schema"]: s["revision"] for s in manifest["schemas"]} == {
        "users": "users_0005",
        "journal": "journal_0004",
    }
    assert next(s for s in manifest["schemas"] if s["schema"] == "users")["tables"]["inbox"] == 1
    assert database.revisions() == HEADS

    ok(cli("migrate", data_dir=database.data_dir, pg_port=database.pg_port))  # nothing pending
    database.take_back({"journal": "journal_0010"})
    out = ok(cli("migrate", "--no-backup", data_dir=database.data_dir, pg_port=database.pg_port))
    assert "backing up" not in out
    assert len(list((database.data_dir / "backups").iterdir())) == 1
    assert database.revisions()["journal"] == HEADS["journal"]
