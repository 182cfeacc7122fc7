"""Each service's role owns its schema and cannot touch another's (the provisioning's promise)."""

from __future__ import annotations

import asyncpg
import pytest

import daybook_journal
import daybook_reminders
import daybook_users
from daybook_devtools.testing.databases import TestDatabase


@pytest.fixture(scope="module")
async def users_table(fresh_database: TestDatabase) -> str:
    """A table in the users schema with a row in it: the history's own, else one the users role makes."""
    fresh_database.migrate("users", daybook_users.SCRIPT_LOCATION)
    fresh_database.migrate("journal", daybook_journal.SCRIPT_LOCATION)
    fresh_database.migrate("reminders", daybook_reminders.SCRIPT_LOCATION)
    conn = await fresh_database.connect_as("users")
    try:
        name = await conn.fetchval(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'users' AND tablename <> 'alembic_version' "
            "ORDER BY tablename LIMIT 1"
        )
        if name is None:
            await conn.execute("CREATE TABLE users.isolation_probe (secret text)")
            name = "isolation_probe"
        return str(name)
    finally:
        await conn.close()


async def test_journal_role_cannot_read_users_tables(fresh_database: TestDatabase, users_table: str) -> None:
    conn = await fresh_database.connect_as("journal")
    try:
        for table in (users_table, "alembic_version"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
                await conn.fetch(f'SELECT * FROM users."{table}" LIMIT 1')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("CREATE TABLE users.sneaky (x int)")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("SET ROLE users")
    finally:
        await conn.close()


async def test_no_role_reads_another_schema(fresh_database: TestDatabase, users_table: str) -> None:
    for role, other in (("users", "journal"), ("reminders", "users"), ("journal", "reminders")):
        conn = await fresh_database.connect_as(role)
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {other}.alembic_version")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE TABLE public.leak (x int)")
        finally:
            await conn.close()


async def test_each_role_works_in_its_own_schema(fresh_database: TestDatabase, users_table: str) -> None:
    for role in ("users", "journal", "reminders"):
        conn = await fresh_database.connect_as(role)
        try:
            assert await conn.fetchval("SHOW search_path") == role
            assert await conn.fetchval(f"SELECT count(*) FROM {role}.alembic_version") == 1
            await conn.execute("CREATE TEMPORARY TABLE scratch (x int)")
        finally:
            await conn.close()
