"""Idempotent provisioning: one schema and one login role per service.

A service's role owns its schema and nothing else; ``PUBLIC`` loses its default
rights, so one service's role cannot read another's tables.  Run as a superuser
(or a role with CREATEROLE and CREATE on the database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

import asyncpg
from sqlalchemy.engine import make_url


@dataclass(frozen=True)
class ServiceRole:
    schema: str
    role: str
    #: Kept out of ``repr`` (tracebacks, pytest's failure reports, logs).
    password: str = field(repr=False)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a safe identifier: {name!r}")
    return f'"{name}"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def ensure_database(admin_url: str, database: str) -> None:
    conn = await asyncpg.connect(_dsn(admin_url, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f"CREATE DATABASE {_ident(database)}")
    finally:
        await conn.close()


async def provision(
    admin_url: str, database: str, roles: list[ServiceRole], keep_passwords: bool = False
) -> None:
    """Create (or update) each role and schema in ``database``; safe to run again.

    ``keep_passwords``: a role that exists keeps its password (``daybook restore`` into a server
    whose services are running must not lock them out); only new roles get ``password``.
    """
    await ensure_database(admin_url, database)
    conn = await asyncpg.connect(_dsn(admin_url, database))
    try:
        # Roles are cluster-wide; two provisioners racing is harmless but may collide.
        await conn.execute("SELECT pg_advisory_lock(724311)")
        await conn.execute(f"REVOKE ALL ON DATABASE {_ident(database)} FROM PUBLIC")
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        for item in roles:
            role, schema = _ident(item.role), _ident(item.schema)
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", item.role)
            attributes = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
            password = "" if exists and keep_passwords else f" PASSWORD {_literal(item.password)}"
            if not exists:
                await conn.execute(f"CREATE ROLE {role} LOGIN {attributes}{password}")
            else:
                await conn.execute(f"ALTER ROLE {role} LOGIN{password}")
                # Only a superuser may name these at all (a managed server's owner is none).
                if await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
                    await conn.execute(f"ALTER ROLE {role} {attributes}")
            await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {_ident(database)} TO {role}")
            # The admin must be a member to hand ownership over on managed servers.
            await conn.execute(f"GRANT {role} TO CURRENT_USER")
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}")
            await conn.execute(f"ALTER SCHEMA {schema} OWNER TO {role}")
            await conn.execute(f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC")
            await conn.execute(f"ALTER ROLE {role} IN DATABASE {_ident(database)} SET search_path = {schema}")
        await conn.execute("SELECT pg_advisory_unlock(724311)")
    finally:
        await conn.close()


def role_url(admin_url: str, database: str, role: ServiceRole) -> str:
    """The service's own URL: same host as the admin URL, its role and password."""
    parsed = make_url(admin_url)
    host = parsed.host or "127.0.0.1"
    port = f":{parsed.port}" if parsed.port else ""
    query = f"?{'&'.join(f'{k}={v}' for k, v in parsed.query.items())}" if parsed.query else ""
    return f"postgresql://{quote(role.role, safe='')}:{quote(role.password, safe='')}@{host}{port}/{database}{query}"


def _dsn(url: str, database: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database=database)
    return parsed.render_as_string(hide_password=False)
