"""``daybook backup``: every service's schema (or the named ones) from one snapshot.

One admin connection opens a read-only ``REPEATABLE READ`` transaction and exports its
snapshot; each schema is dumped by ``pg_dump --snapshot`` (custom format) while that
transaction stays open, and the row counts and Alembic revisions of the manifest are read
in the same transaction — so every file and every number describe the same instant, even
while the stack keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from daybook_common.migrations import VERSION_TABLE
from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Reporter, admin_database_url, run_in_thread
from daybook_deploy.manifest import BackupError, Manifest, SchemaDump, sha256_of
from daybook_deploy.operations import admin_database
from daybook_deploy.pgclient import (
    file_size,
    human_size,
    libpq_target,
    program_version,
    run_with_progress,
    tail,
)
from daybook_deploy.services import BY_NAME, MIGRATING, ServiceSpec
from daybook_devtools.embedded import pg_program

TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1
"""


def default_directory(now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("backups") / f"daybook-{stamp}"


def chosen(names: list[str] | tuple[str, ...]) -> list[ServiceSpec]:
    """The named services that own a schema (all of them for no names); unknown names raise."""
    migrating = {s.name for s in MIGRATING}
    unknown = [n for n in names if n not in migrating]
    if unknown:
        raise BackupError(
            f"no schema for {', '.join(unknown)}; choose from {', '.join(s.name for s in MIGRATING)}"
        )
    return [BY_NAME[n] for n in names] if names else list(MIGRATING)


def _prepare(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty; give a new directory with --to")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)  # password hashes and journals: for the operator only


def _discard(directory: Path, specs: list[ServiceSpec]) -> None:
    """A failed backup leaves nothing that could be taken for one (the directory if it is empty)."""
    for spec in specs:
        (directory / f"{spec.schema}.dump").unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()


@dataclass
class _Snapshot:
    id: str
    server_version: str
    taken_at: datetime
    counts: dict[str, dict[str, int]]
    revisions: dict[str, str | None]


async def _open_snapshot(conn: asyncpg.Connection, schemas: list[str]) -> _Snapshot:
    snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
    version = await conn.fetchval("SHOW server_version")
    taken_at = await conn.fetchval("SELECT statement_timestamp()")  # the snapshot's instant, near enough
    counts: dict[str, dict[str, int]] = {}
    revisions: dict[str, str | None] = {}
    for schema in schemas:
        if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
            raise BackupError(f"schema {schema} does not exist: nothing to back up (run daybook migrate)")
        tables = [row["relname"] for row in await conn.fetch(TABLES, schema)]
        counts[schema] = {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {_qualified(schema, table)}"))
            for table in tables
        }
        revisions[schema] = (
            await conn.fetchval(f"SELECT version_num FROM {_qualified(schema, VERSION_TABLE)}")
            if VERSION_TABLE in tables
            else None
        )
    return _Snapshot(str(snapshot), str(version), taken_at.astimezone(UTC), counts, revisions)


def _qualified(schema: str, table: str) -> str:
    return '"{}"."{}"'.format(schema.replace('"', '""'), table.replace('"', '""'))


def _dump(url: str, database: str, schema: str, snapshot: str, path: Path) -> None:
    target, env = libpq_target(url, database)
    command = [
        pg_program("pg_dump"),
        f"--dbname={target}",
        "--format=custom",
        f"--schema={schema}",
        f"--snapshot={snapshot}",
        f"--file={path}",
    ]
    done = run_with_progress(command, env, f"{schema}: pg_dump", file_size(path))
    if done.returncode != 0:
        raise BackupError(f"pg_dump of schema {schema} failed: {tail(done.stderr)}")


async def _backup(
    admin: str, config: StackConfig, specs: list[ServiceSpec], directory: Path, report: Reporter
) -> Manifest:
    url = admin_database_url(admin, config.database)
    began = time.monotonic()
    schemas = [s.schema for s in specs if s.schema]
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snap = await _open_snapshot(conn, schemas)
            dumps: list[SchemaDump] = []
            for spec in specs:
                assert spec.schema is not None
                path = directory / f"{spec.schema}.dump"
                step = time.monotonic()
                # pg_dump is a child process: the snapshot stays exported while this waits.
                await asyncio.to_thread(_dump, admin, config.database, spec.schema, snap.id, path)
                path.chmod(0o600)
                tables = snap.counts[spec.schema]
                dumps.append(
                    SchemaDump(
                        service=spec.name,
                        schema=spec.schema,
                        revision=snap.revisions[spec.schema],
                        file=path.name,
                        sha256=sha256_of(path),
                        bytes=path.stat().st_size,
                        tables=tables,
                    )
                )
                report(
                    f"{spec.name}: {len(tables)} tables, {sum(tables.values())} rows, "
                    f"revision {snap.revisions[spec.schema]}, {human_size(path.stat().st_size)} "
                    f"in {time.monotonic() - step:.1f}s"
                )
    finally:
        await conn.close()
    return Manifest(
        created_at=snap.taken_at.isoformat(timespec="seconds"),
        server_version=snap.server_version,
        pg_dump_version=program_version("pg_dump"),
        database=config.database,
        schemas=dumps,
        seconds=round(time.monotonic() - began, 3),
    )


def backup(config: StackConfig, names: list[str], to: Path | None, report: Reporter) -> Path:
    """Dump the named services' schemas (default: all) into ``to``; returns the directory."""
    specs = chosen(names)
    with admin_database(config, report) as admin:
        return backup_from(admin, config, specs, to or default_directory(), report)


def backup_from(
    admin: str, config: StackConfig, specs: list[ServiceSpec], to: Path, report: Reporter
) -> Path:
    """:func:`backup` with an admin URL at hand (``daybook migrate`` has one already)."""
    directory = to.absolute()
    _prepare(directory)
    old_umask = os.umask(0o077)
    try:
        report(f"backing up {', '.join(s.name for s in specs)} to {directory}")
        manifest = run_in_thread(lambda: asyncio.run(_backup(admin, config, specs, directory, report)))
        manifest.write(directory)
    except BaseException:
        _discard(directory, specs)
        raise
    finally:
        os.umask(old_umask)
    total = sum(d.bytes for d in manifest.schemas)
    report(f"backup complete: {directory} ({human_size(total)}, {manifest.seconds:.1f}s)")
    return directory


async def has_rows(admin: str, database: str, schemas: list[str]) -> bool:
    """Whether any table of these schemas (but Alembic's own) holds a row."""
    conn = await asyncpg.connect(admin_database_url(admin, database))
    try:
        for schema in schemas:
            for row in await conn.fetch(TABLES, schema):
                if row["relname"] == VERSION_TABLE:
                    continue
                if await conn.fetchval(f"SELECT EXISTS (SELECT FROM {_qualified(schema, row['relname'])})"):
                    return True
        return False
    finally:
        await conn.close()
