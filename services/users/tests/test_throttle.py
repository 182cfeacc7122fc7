"""Login throttling per email and per client address, stored in the database; trusted proxies."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient


async def fail(client: Any, email: str, headers: dict[str, str] | None = None) -> Any:
    return await client.post(
        "/api/v1/auth/login", json={"email": email, "password": "wrong password"}, headers=headers
    )


async def test_repeated_failures_for_one_email_get_429(harness: Any) -> None:
    user = await harness.register()
    limit = harness.settings.throttle.max_failures_per_email
    for _ in range(limit):
        assert (await fail(harness.client, user["email"])).status_code == 401
    r = await harness.client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": harness.password}
    )
    assert r.status_code == 429, r.text  # even the right password: the account is locked for the window
    assert r.headers["content-type"].startswith("application/problem+json")
    retry_after = int(r.headers["retry-after"])
    assert 0 < retry_after <= harness.settings.throttle.window_seconds
    # Another spelling of the same address shares the counter.
    r = await fail(harness.client, f"  {user['email'].upper()} ")
    assert r.status_code == 429
    # Unknown accounts are throttled the same way (no existence oracle).
    ghost = harness.unique_email("ghost")
    statuses = [(await fail(harness.client, ghost)).status_code for _ in range(limit + 1)]
    assert statuses == [401] * limit + [429]
    # Other accounts are not affected.
    other = await harness.register()
    await harness.login(other["email"])


async def test_the_limit_holds_across_app_instances(harness: Any, make_harness: Any) -> None:
    """Two processes (here: two app instances with their own pools) share the counters."""
    user = await harness.register()
    limit = harness.settings.throttle.max_failures_per_email
    app2, _, _ = make_harness()
    async with AsyncTestClient(app2) as second:
        for i in range(limit):
            assert (await fail(harness.client if i % 2 else second, user["email"])).status_code == 401
        assert (await fail(second, user["email"])).status_code == 429
    assert (await fail(harness.client, user["email"])).status_code == 429


async def test_success_resets_the_email_counter(harness: Any) -> None:
    user = await harness.register()
    limit = harness.settings.throttle.max_failures_per_email
    for _ in range(limit - 1):
        await fail(harness.client, user["email"])
    await harness.login(user["email"])
    for _ in range(limit - 1):
        assert (await fail(harness.client, user["email"])).status_code == 401
    await harness.login(user["email"])


async def test_window_end_unlocks(harness: Any) -> None:
    user = await harness.register()
    for _ in range(harness.settings.throttle.max_failures_per_email):
        await fail(harness.client, user["email"])
    assert (await fail(harness.client, user["email"])).status_code == 429
    conn = await harness.db.admin_connect()
    try:  # move the window into the past instead of waiting for it
        await conn.execute(
            "UPDATE users.login_throttles SET window_started_at = window_started_at - interval '1 day'"
        )
    finally:
        await conn.close()
    await harness.login(user["email"])


async def test_per_address_limit_behind_a_trusted_proxy(harness: Any, make_harness: Any) -> None:
    app, _, peer = make_harness(USERS_LOGIN_MAX_FAILURES_PER_IP="3", USERS_LOGIN_MAX_FAILURES_PER_EMAIL="100")
    async with AsyncTestClient(app) as client:
        peer.host = "127.0.0.1"  # the gateway
        attacker = {"X-Forwarded-For": "198.51.100.7"}
        for _ in range(3):  # a different email every time: only the address links them
            assert (await fail(client, harness.unique_email(), attacker)).status_code == 401
        r = await fail(client, harness.unique_email(), attacker)
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        # A spoofed left-most hop does not help: the proxy appended the real address on the right.
        r = await fail(client, harness.unique_email(), {"X-Forwarded-For": "203.0.113.1, 198.51.100.7"})
        assert r.status_code == 429
        # Another client behind the same gateway is unaffected.
        user = await harness.register()
        r = await client.post(
            "/api/v1/auth/login",
            json={"email": user["email"], "password": harness.password},
            headers={"X-Forwarded-For": "198.51.100.8"},
        )
        assert r.status_code == 200, r.text

        # From an untrusted peer the header is ignored: the peer itself is the client.
        peer.host = "192.0.2.50"
        for _ in range(3):
            assert (
                await fail(client, harness.unique_email(), {"X-Forwarded-For": "192.0.2.99"})
            ).status_code == 401
        r = await fail(
            client, harness.unique_email(), {"X-Forwarded-For": "192.0.2.100"}
        )  # new "client", same peer
        assert r.status_code == 429


async def test_refresh_tokens_record_the_client(harness: Any, peer: Any) -> None:
    user = await harness.register()
    peer.host = "::1"
    r = await harness.client.post(
        "/api/v1/auth/login",
        json={"email": user["email"], "password": harness.password},
        headers={"X-Forwarded-For": "2001:db8::7", "User-Agent": "daybook-test/1.0"},
    )
    assert r.status_code == 200
    conn = await harness.db.admin_connect()
    try:
        row = await conn.fetchrow(
            "SELECT host(ip_address) AS ip, user_agent FROM users.refresh_tokens r JOIN users.users u"
            " ON u.id = r.user_id WHERE u.email = $1",
            user["email"],
        )
    finally:
        await conn.close()
    assert row["ip"] == "2001:db8::7" and row["user_agent"] == "daybook-test/1.0"
