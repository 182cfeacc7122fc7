"""The bulk seed helper writes accounts that behave like registered ones."""

from __future__ import annotations

import uuid
from typing import Any

from daybook_users.seed import insert_users, password_hash


async def test_seeded_accounts_can_log_in(harness: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    conn = await harness.db.connect_as("users")
    try:
        ids = await insert_users(
            conn, 200, password_hash("seed password 1"), email_template=f"seed-{tag}-{{i}}@example.com"
        )
    finally:
        await conn.close()
    assert len(set(ids)) == 200
    tokens = await harness.login(f"seed-{tag}-199@example.com", "seed password 1")
    me = (await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens))).json()
    assert me["id"] == str(ids[199])
