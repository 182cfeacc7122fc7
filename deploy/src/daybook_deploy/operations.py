"""``daybook migrate`` and ``daybook status``, and the environment for forwarded service commands."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from daybook_common.migrations import VERSION_TABLE, head_revision, upgrade
from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import (
    Reporter,
    StackError,
    _redact,
    admin_database_url,
    embedded_admin_url,
    http_status,
    run_in_thread,
)
from daybook_deploy.services import (
    BY_NAME,
    HTTP_SERVICES,
    MIGRATING,
    SCHEMAS,
    SERVICES,
    Endpoints,
    ServiceSpec,
    script_location,
    service_env,
)
from daybook_devtools.embedded import EmbeddedPostgres, port_is_free
from daybook_devtools.provision import ServiceRole, provision, role_url


@contextlib.contextmanager
def admin_database(config: StackConfig, report: Reporter) -> Iterator[str]:
    """An admin URL: ``DATABASE_URL``, the running embedded server, or one started just for this."""
    if config.database_url:
        yield config.database_url
        return
    if not port_is_free(config.pg_port):
        url = embedded_admin_url(config)
        if url is None:
            raise StackError(
                f"port {config.pg_port} is in use but {config.data_dir} has no embedded PostgreSQL; "
                "set DATABASE_URL or DAYBOOK_PG_PORT"
            )
        yield url
        return
    server = EmbeddedPostgres(config.pg_data_dir, config.pg_port)
    report(f"starting the embedded PostgreSQL in {config.pg_data_dir} for this command")
    server.start()
    try:
        yield server.admin_url()
    finally:
        server.stop()


def migrate(
    config: StackConfig,
    names: list[str],
    report: Reporter,
    backup: bool = True,
    backup_to: Path | None = None,
) -> Path | None:
    """Provision roles/schemas (idempotent) and bring the named histories (default: all) to head.

    With revisions to apply and rows in those schemas, the schemas are backed up first
    (``daybook backup``, into ``backup_to`` or ``<data dir>/backups/before-migrate-<time>``)
    unless ``backup`` is false; returns that backup's directory, if one was taken.
    """
    selected = [BY_NAME[n] for n in names] if names else list(MIGRATING)
    for spec in selected:
        if not spec.migrates:
            raise StackError(f"{spec.name} has no migrations")
    roles = {s: ServiceRole(schema=s, role=s, password=config.role_password(s)) for s in SCHEMAS}
    taken: Path | None = None
    with admin_database(config, report) as admin:
        run_in_thread(lambda: asyncio.run(provision(admin, config.database, list(roles.values()))))
        if backup:
            taken = _backup_before_migrating(admin, config, selected, backup_to, report)
        for spec in selected:
            assert spec.schema is not None
            location = script_location(spec)
            run_in_thread(
                upgrade, location, role_url(admin, config.database, roles[spec.schema]), spec.schema
            )
            report(f"{spec.name}: at head ({head_revision(location)})")
    return taken


def _backup_before_migrating(
    admin: str, config: StackConfig, selected: list[ServiceSpec], to: Path | None, report: Reporter
) -> Path | None:
    from daybook_deploy.backup import backup_from, has_rows

    revisions = run_in_thread(lambda: asyncio.run(_pg_revisions(admin, config.database)))
    behind = [s for s in selected if revisions.get(s.schema or "") != head_revision(script_location(s))]
    schemas = [s.schema for s in behind if s.schema]
    if not behind or not run_in_thread(lambda: asyncio.run(has_rows(admin, config.database, schemas))):
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory = to or config.data_dir / "backups" / f"before-migrate-{stamp}"
    report("revisions to apply to a database with data: backing up first (--no-backup skips it)")
    return backup_from(admin, config, behind, directory, report)


@dataclass
class Line:
    part: str
    where: str
    state: str
    ok: bool


async def _pg_revisions(admin: str, database: str) -> dict[str, str | None]:
    conn = await asyncpg.connect(admin_database_url(admin, database), timeout=3)
    try:
        found: dict[str, str | None] = {}
        for schema in SCHEMAS:
            exists = await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".{VERSION_TABLE}')
            found[schema] = (
                await conn.fetchval(f'SELECT version_num FROM "{schema}".{VERSION_TABLE}') if exists else None
            )
        return found
    finally:
        await conn.close()


async def _nats_state(url: str) -> str:
    from urllib.parse import urlsplit

    import nats

    from daybook_common.events import STREAM

    parts = urlsplit(url)
    try:  # nats-py keeps retrying a refused first connect: find out quickly
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 4222), 2)
        writer.close()
    except (OSError, TimeoutError) as exc:
        raise ConnectionRefusedError(f"nothing answers on {parts.hostname}:{parts.port}") from exc

    async def no_reports(exc: Exception) -> None:  # nats-py would print every refused attempt
        return None

    nc = await asyncio.wait_for(
        nats.connect(
            url,
            connect_timeout=2,
            max_reconnect_attempts=0,
            allow_reconnect=False,
            error_cb=no_reports,
        ),
        timeout=5,
    )
    try:
        try:
            info = await nc.jetstream(timeout=2).stream_info(STREAM)
        except Exception as exc:
            return f"up; stream {STREAM} missing ({exc.__class__.__name__})"
        return f"up; stream {STREAM}: {info.state.messages} messages"
    finally:
        await nc.close()


def status(config: StackConfig) -> list[Line]:
    """Which parts answer, where, and each history's revision against its head."""
    lines: list[Line] = []
    admin = config.database_url or embedded_admin_url(config)
    where = _redact(config.database_url) if config.database_url else f"127.0.0.1:{config.pg_port} (embedded)"
    revisions: dict[str, str | None] | None = None
    if admin is None and port_is_free(config.pg_port):
        lines.append(Line("postgresql", where, f"never started in {config.data_dir}", False))
    elif admin is None:
        state = (
            f"something answers, but {config.data_dir} has no cluster: set DAYBOOK_DATA_DIR or DATABASE_URL"
        )
        lines.append(Line("postgresql", where, state, False))
    else:
        try:
            revisions = run_in_thread(lambda: asyncio.run(_pg_revisions(admin, config.database)))
            lines.append(Line("postgresql", where, f"up; database {config.database}", True))
        except Exception as exc:
            lines.append(Line("postgresql", where, f"down ({exc.__class__.__name__})", False))
    nats_url = config.nats_url or f"nats://127.0.0.1:{config.nats_port}"
    nats_where = _redact(nats_url) + ("" if config.nats_url else " (embedded)")
    try:
        lines.append(
            Line("nats", nats_where, run_in_thread(lambda: asyncio.run(_nats_state(nats_url))), True)
        )
    except Exception as exc:
        lines.append(Line("nats", nats_where, f"down ({exc.__class__.__name__})", False))
    for spec in SERVICES:
        if spec.port is None:
            continue
        url = config.url_for(spec.name)
        health = http_status(url + "/health", timeout=1.5)
        if health is None:
            lines.append(Line(spec.name, url, "down", False))
            continue
        ready = http_status(url + "/ready", timeout=3)
        lines.append(Line(spec.name, url, "ready" if ready == 200 else f"up, /ready {ready}", ready == 200))
    for name, url in config.metrics_urls().items():
        answer = http_status(url, timeout=3)
        lines.append(Line(f"{name} metrics", url, "up" if answer == 200 else _down(answer), answer == 200))
    for spec in MIGRATING:
        assert spec.schema is not None
        head = head_revision(script_location(spec))
        current = None if revisions is None else revisions.get(spec.schema)
        if revisions is None:
            state, ok = f"unknown (database down); head {head}", False
        elif current == head:
            state, ok = f"{current} (head)", True
        else:
            state, ok = f"{current or 'nothing applied'}; head {head}", False
        lines.append(Line(f"{spec.name} migrations", f"schema {spec.schema}", state, ok))
    return lines


def _down(status: int | None) -> str:
    return "down" if status is None else f"answers {status}"


def forwarded_env(config: StackConfig, spec: ServiceSpec) -> dict[str, str]:
    """The variables ``daybook up`` would give this service, as far as they can be known offline.

    Used as defaults for ``daybook users …`` so e.g. ``daybook users migrate`` reaches the
    database the launcher made, with the stored role password.
    """
    base = config.database_url or f"postgresql://postgres@127.0.0.1:{config.pg_port}/postgres"
    database_urls = {}
    for schema in SCHEMAS:
        password = config.stored_role_password(schema)
        database_urls[schema] = (
            role_url(base, config.database, ServiceRole(schema=schema, role=schema, password=password))
            if password is not None
            else ""
        )
    at = Endpoints(
        host=config.host,
        service_urls={s.name: config.url_for(s.name) for s in HTTP_SERVICES},
        ports=config.ports,
        database_urls=database_urls,
        nats_url=config.nats_url or f"nats://127.0.0.1:{config.nats_port}",
        signing_key_file=str(config.signing_key_file),
        mail_dir=str(config.mail_dir),
    )
    return {k: v for k, v in service_env(spec, at).items() if v}
