"""Row-level security on the per-user tables (users_0010), checked as the users role itself.

The app binds ``app.user_id`` for a signed-in caller and uses the one bypass
(:func:`daybook_common.rls.trusted_lookup`) only before the user is known; here the database
alone must hide every other account's rows.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

TABLES = ("refresh_tokens", "account_tokens", "security_events", "mail_outbox", "idempotency_keys")


async def _two_accounts(harness: Any) -> list[uuid.UUID]:
    ids = []
    for _ in range(2):
        email = harness.unique_email("rls")
        r = await harness.client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": harness.password},
            headers={"Idempotency-Key": f"rls-{uuid.uuid4()}"},
        )
        assert r.status_code == 201, r.text
        await harness.login(email)  # a refresh token and a security event
        ids.append(uuid.UUID(r.json()["id"]))
    return ids


async def _owners(conn: Any, table: str) -> set[uuid.UUID | None]:
    return {row["user_id"] for row in await conn.fetch(f"SELECT user_id FROM users.{table}")}


async def test_the_users_role_sees_no_rows_without_a_binding(harness: Any) -> None:
    mine, theirs = await _two_accounts(harness)
    admin = await harness.db.admin_connect()
    try:
        for table in TABLES:  # the rows exist: a superuser sees both accounts'
            assert {mine, theirs} <= await _owners(admin, table), table
        forced = await admin.fetch(
            "SELECT relname FROM pg_class WHERE relnamespace = 'users'::regnamespace"
            " AND relrowsecurity AND relforcerowsecurity"
        )
        assert set(TABLES) <= {row["relname"] for row in forced}
    finally:
        await admin.close()

    conn = await harness.db.connect_as("users")
    try:
        for table in TABLES:
            assert await _owners(conn, table) == set(), table
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.user_id', $1, true)", str(mine))
            for table in TABLES:
                assert await _owners(conn, table) == {mine}, table
            # Nor can the bound caller write a row in another account's name.
            refused = await conn.execute(
                "UPDATE users.security_events SET kind = kind WHERE user_id = $1", theirs
            )
            assert refused == "UPDATE 0"
        for table in TABLES:  # SET LOCAL: the binding ended with its transaction
            assert await _owners(conn, table) == set(), table
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
            for table in TABLES:
                assert {mine, theirs} <= await _owners(conn, table), table
    finally:
        await conn.close()


async def test_a_bound_transaction_cannot_insert_for_another_user(harness: Any) -> None:
    mine, theirs = await _two_accounts(harness)
    conn = await harness.db.connect_as("users")
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.user_id', $1, true)", str(mine))
                await conn.execute(
                    "INSERT INTO users.security_events (id, user_id, kind, created_at, updated_at)"
                    " VALUES (gen_random_uuid(), $1, 'login', now(), now())",
                    theirs,
                )
    finally:
        await conn.close()


#: Tables of the schema with a ``user_id`` that rightly have no policy, with the reason.
NOT_FORCED = {
    "audit_log": "the audit trail: written by triggers, read by operators only",
}


async def test_every_user_table_of_the_schema_forces_row_level_security(harness: Any) -> None:
    admin = await harness.db.admin_connect()
    try:
        rows = await admin.fetch(
            "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity AS forced FROM pg_class c"
            " WHERE c.relkind = 'r' AND c.relnamespace = 'users'::regnamespace AND EXISTS ("
            "  SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'user_id'"
            "  AND NOT a.attisdropped)"
        )
    finally:
        await admin.close()
    tables = {row["relname"]: row["forced"] for row in rows}
    assert set(TABLES) | set(NOT_FORCED) <= set(tables), "update this test: a table lost its user_id"
    missing = sorted(name for name, forced in tables.items() if not forced and name not in NOT_FORCED)
    assert missing == [], f"users tables with a user_id and no forced row-level security: {missing}"
