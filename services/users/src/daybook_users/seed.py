"""Bulk accounts for demos and benchmarks (COPY speed; not for production data).

Every seeded account shares one password hash, made once: hashing 10,000 passwords at the
production argon2 parameters would take minutes and prove nothing.

    import asyncpg
    from daybook_users.seed import insert_users, password_hash

    conn = await asyncpg.connect(users_role_url)
    ids = await insert_users(conn, 10_000, password_hash("seed password 1"))
    # accounts seed-0@example.com .. seed-9999@example.com, ids in the same order
"""

from __future__ import annotations

import datetime
import uuid
from typing import TYPE_CHECKING

from uuid_utils.compat import uuid7

from daybook_users import SCHEMA

if TYPE_CHECKING:
    import asyncpg
    from asyncpg.pool import PoolConnectionProxy

COLUMNS = ("id", "email", "hashed_password", "is_active", "is_superuser", "created_at", "updated_at")


def password_hash(password: str) -> str:
    """A hash at the configured argon2 parameters (so seeded logins cost what real ones do)."""
    from daybook_users.auth.passwords import Passwords
    from daybook_users.settings import Settings

    return Passwords(Settings.from_env().passwords, 1).hasher.hash(password)


async def insert_users(
    conn: asyncpg.Connection | PoolConnectionProxy,
    count: int,
    hashed_password: str,
    *,
    email_template: str = "seed-{i}@example.com",
    start: int = 0,
) -> list[uuid.UUID]:
    """COPY ``count`` live accounts through an asyncpg connection (the users role or a superuser).

    Emails come from ``email_template.format(i=start + n)`` and must be lower-case and unused.
    Returns the new ids in order.
    """
    now = datetime.datetime.now(datetime.UTC)
    ids: list[uuid.UUID] = [uuid7() for _ in range(count)]
    records = [
        (user_id, email_template.format(i=start + n).strip().lower(), hashed_password, True, False, now, now)
        for n, user_id in enumerate(ids)
    ]
    await conn.copy_records_to_table("users", schema_name=SCHEMA, columns=COLUMNS, records=records)
    return ids
