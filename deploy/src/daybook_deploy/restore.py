"""``daybook restore``: a backup into an empty database, in one transaction, checked against its manifest.

Before anything is touched: the manifest is read, every file's sha256 is checked, and every
schema's revision must be one this code knows (a backup of newer code is refused).  Then
the database is provisioned as ``daybook up`` does (roles, schemas), and one ``psql``
session restores every chosen schema (``pg_restore`` writes each dump's SQL into it),
re-queues the published outbox rows (see :data:`~daybook_deploy.manifest.EVENTS_NOTE`),
compares every table's row count with the manifest and only then commits: a failure at
any step leaves the database as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from daybook_common.migrations import head_revision, is_known_revision
from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Reporter, admin_database_url, run_in_thread
from daybook_deploy.manifest import BackupError, Manifest, SchemaDump, verify_files
from daybook_deploy.operations import admin_database
from daybook_deploy.pgclient import human_size, libpq_target, tail, wait_with_progress
from daybook_deploy.services import BY_NAME, SCHEMAS, script_location
from daybook_devtools.embedded import pg_program
from daybook_devtools.provision import ServiceRole, provision

OUTBOX = "outbox"
MAINTENANCE_WORK_MEM = "256MB"


@dataclass
class Restored:
    service: str
    schema: str
    tables: int
    rows: int
    revision: str | None
    head: str | None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def choose(manifest: Manifest, names: list[str]) -> list[SchemaDump]:
    if not names:
        return list(manifest.schemas)
    found = {d.service: d for d in manifest.schemas}
    missing = [n for n in names if n not in found]
    if missing:
        raise BackupError(
            f"the backup has no schema for {', '.join(missing)}; it holds {', '.join(found) or 'nothing'}"
        )
    return [found[n] for n in names]


def check_revisions(dumps: list[SchemaDump]) -> None:
    """Refuse a dump whose revision this code does not know: it was made by newer code."""
    for dump in dumps:
        if dump.service not in BY_NAME or BY_NAME[dump.service].schema != dump.schema:
            raise BackupError(f"backup refused: unknown service/schema {dump.service}/{dump.schema}")
        location = script_location(BY_NAME[dump.service])
        if dump.revision is not None and not is_known_revision(location, dump.revision):
            raise BackupError(
                f"backup refused: {dump.service} is at revision {dump.revision}, which this code does not "
                f"know (its head is {head_revision(location)}): the backup was made by newer code; restore "
                "it with that version of daybook. Nothing was restored"
            )


async def _occupied(admin: str, database: str, schemas: list[str]) -> dict[str, int]:
    """Objects already in each schema (tables, sequences, views, functions); missing database: none."""
    conn = await asyncpg.connect(admin_database_url(admin, "postgres"))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            return {}
    finally:
        await conn.close()
    conn = await asyncpg.connect(admin_database_url(admin, database))
    try:
        found = {}
        for schema in schemas:
            count = await conn.fetchval(
                "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "        WHERE n.nspname = $1)"
                " + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "    WHERE n.nspname = $1)",
                schema,
            )
            if count:
                found[schema] = int(count)
        return found
    finally:
        await conn.close()


def _toc_without_schema(dump: Path, schema: str, directory: Path) -> Path:
    """The dump's table of contents minus ``CREATE SCHEMA``: provisioning made the schema already."""
    listing = subprocess.run(
        [pg_program("pg_restore"), "--list", str(dump)], capture_output=True, check=False
    )
    if listing.returncode != 0:
        raise BackupError(f"pg_restore cannot read {dump.name}: {tail(listing.stderr)}")
    create_schema = re.compile(rf"^\d+; \d+ \d+ SCHEMA - {re.escape(schema)} \S+$")
    kept = [line for line in listing.stdout.decode().splitlines() if not create_schema.match(line.strip())]
    path = directory / f"{schema}.list"
    path.write_text("\n".join(kept) + "\n")
    return path


def _closing_sql(dumps: list[SchemaDump]) -> str:
    """Re-queue published events, compare row counts with the manifest (raising rolls back), commit."""
    statements = []
    checks = []
    for dump in dumps:
        for table, expected in sorted(dump.tables.items()):
            name = f"{_quote(dump.schema)}.{_quote(table)}"
            if table == OUTBOX:
                statements.append(f"UPDATE {name} SET published_at = NULL WHERE published_at IS NOT NULL;")
            label = f"{dump.schema}.{table}".replace("'", "''")
            checks.append(
                f"  SELECT count(*) INTO n FROM {name};\n"
                f"  IF n <> {int(expected)} THEN bad := bad || format('%s has %s rows, the manifest says %s; ', "
                f"'{label}', n, {int(expected)}); END IF;"
            )
    body = "\n".join(checks)
    statements.append(
        "DO $daybook$ DECLARE n bigint; bad text := ''; BEGIN\n"
        f"{body}\n"
        "  IF bad <> '' THEN RAISE EXCEPTION 'restore rolled back: %', bad; END IF;\n"
        "END $daybook$;"
    )
    statements.append("COMMIT;")
    return "\n".join(statements) + "\n"


def _restore_in_one_transaction(
    admin: str, database: str, source: Path, dumps: list[SchemaDump], report: Reporter
) -> None:
    target, env = libpq_target(admin, database)
    with tempfile.TemporaryDirectory(prefix="daybook-restore-") as tmp:
        work = Path(tmp)
        errors = (work / "psql.err").open("w+b")
        psql = subprocess.Popen(
            [pg_program("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", f"--dbname={target}"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        assert psql.stdin is not None
        feed_failed = ""
        try:
            # Index builds are most of a big restore's time; a session-sized sort memory speeds them.
            psql.stdin.write(f"BEGIN;\nSET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}';\n".encode())
            psql.stdin.flush()
            for dump in dumps:
                began = time.monotonic()
                toc = _toc_without_schema(source / dump.file, dump.schema, work)
                feeder = subprocess.Popen(
                    [pg_program("pg_restore"), f"--use-list={toc}", "--file=-", str(source / dump.file)],
                    stdout=psql.stdin,
                    stderr=subprocess.PIPE,
                )
                said_by_feeder = wait_with_progress(feeder, f"{dump.service}: restoring")
                if feeder.returncode != 0:
                    feed_failed = f"pg_restore of {dump.file} failed: {tail(said_by_feeder)}"
                    break
                report(
                    f"{dump.service}: {len(dump.tables)} tables, {dump.rows} rows sent "
                    f"({human_size(dump.bytes)} dump) in {time.monotonic() - began:.1f}s"
                )
            if not feed_failed:
                report("comparing every table's row count with the manifest, then committing")
                psql.stdin.write(_closing_sql(dumps).encode())
        except BrokenPipeError:
            pass  # psql stopped at an error: its words are below
        finally:
            with contextlib.suppress(BrokenPipeError):
                psql.stdin.close()
        psql.wait()
        errors.seek(0)
        said = tail(errors.read(), 3000)
        errors.close()
        if feed_failed or psql.returncode != 0:
            raise BackupError(f"restore failed and was rolled back: {feed_failed or said or psql.returncode}")


async def _analyze(admin: str, database: str, dumps: list[SchemaDump]) -> None:
    conn = await asyncpg.connect(admin_database_url(admin, database))
    try:
        for dump in dumps:
            for table in dump.tables:
                await conn.execute(f"ANALYZE {_quote(dump.schema)}.{_quote(table)}")
    finally:
        await conn.close()


def restore(config: StackConfig, source: Path, names: list[str], report: Reporter) -> list[Restored]:
    """Restore the backup in ``source`` (all its schemas, or the named services') into ``config``'s database."""
    source = source.absolute()
    manifest = Manifest.read(source)
    dumps = choose(manifest, names)
    verify_files(source, manifest)
    check_revisions(dumps)
    report(
        f"backup of {manifest.created_at} (PostgreSQL {manifest.server_version}): checksums and revisions "
        f"good; restoring {', '.join(d.service for d in dumps)}"
    )
    schemas = [d.schema for d in dumps]
    with admin_database(config, report) as admin:
        occupied = run_in_thread(lambda: asyncio.run(_occupied(admin, config.database, schemas)))
        if occupied:
            said = ", ".join(f"{schema} ({count} objects)" for schema, count in occupied.items())
            raise BackupError(
                f"restore refused: database {config.database} is not empty in schema {said}; restore into an "
                "empty database (a new --data-dir) or move the schema aside first (see README, "
                "Backup and restore); nothing was restored"
            )
        roles = [ServiceRole(schema=s, role=s, password=config.role_password(s)) for s in SCHEMAS]
        run_in_thread(lambda: asyncio.run(provision(admin, config.database, roles, keep_passwords=True)))
        began = time.monotonic()
        _restore_in_one_transaction(admin, config.database, source, dumps, report)
        run_in_thread(lambda: asyncio.run(_analyze(admin, config.database, dumps)))
        report(
            f"restored and committed in {time.monotonic() - began:.1f}s; every row count matches the manifest"
        )
    restored = []
    for dump in dumps:
        head = head_revision(script_location(BY_NAME[dump.service]))
        restored.append(Restored(dump.service, dump.schema, len(dump.tables), dump.rows, dump.revision, head))
        state = "at head" if dump.revision == head else f"behind head {head}: daybook migrate brings it there"
        report(f"{dump.service}: revision {dump.revision} ({state})")
    return restored
