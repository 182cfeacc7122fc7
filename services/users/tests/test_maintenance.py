"""Housekeeping removes expired refresh tokens and ended throttle windows, nothing else."""

from __future__ import annotations

from typing import Any

from daybook_users import maintenance


async def test_purges_only_what_has_expired(harness: Any) -> None:
    _, old = await harness.account()
    _, fresh = await harness.account()
    await harness.client.post(
        "/api/v1/auth/login", json={"email": harness.unique_email(), "password": "wrong pw 1"}
    )
    conn = await harness.db.admin_connect()
    try:
        # age one session's token and every throttle window past their ends
        await conn.execute(
            "UPDATE users.refresh_tokens SET created_at = now() - interval '40 days',"
            " expires_at = now() - interval '2 days' WHERE user_id = (SELECT user_id FROM users.refresh_tokens"
            " ORDER BY created_at DESC OFFSET 1 LIMIT 1)"
        )
        await conn.execute("UPDATE users.login_throttles SET window_started_at = now() - interval '1 day'")
        tokens_before = await conn.fetchval("SELECT count(*) FROM users.refresh_tokens")
        purged = await maintenance.run_once(harness.settings)
        assert purged is not None
        assert purged["refresh_tokens"] == 1
        assert purged["login_throttles"] >= 1
        assert await conn.fetchval("SELECT count(*) FROM users.refresh_tokens") == tokens_before - 1
        assert await conn.fetchval("SELECT count(*) FROM users.login_throttles") == 0
    finally:
        await conn.close()
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert r.status_code == 200
    r = await harness.client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
    assert r.status_code == 401


async def test_the_background_task_runs_in_the_app(harness: Any, make_harness: Any) -> None:
    import asyncio
    import hashlib

    from litestar.testing import AsyncTestClient

    conn = await harness.db.admin_connect()
    try:
        digest = hashlib.sha256(b"maintenance-probe").digest()
        await conn.execute(
            "INSERT INTO users.login_throttles (scope, key_digest, failures, window_started_at)"
            " VALUES ('email', $1, 3, now() - interval '1 day')",
            digest,
        )
        app, _, _ = make_harness(USERS_MAINTENANCE_INTERVAL_SECONDS="1")
        async with AsyncTestClient(app):
            for _ in range(200):  # wait for a round (not a speed assertion: just an upper bound)
                if not await conn.fetchval(
                    "SELECT count(*) FROM users.login_throttles WHERE key_digest = $1", digest
                ):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the maintenance task never purged the expired counter")
    finally:
        await conn.close()
