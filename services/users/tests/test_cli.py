"""`daybook-users create-superuser` (what `daybook users create-superuser` forwards to)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from daybook_users.cli import main


async def run_cli(monkeypatch: pytest.MonkeyPatch, harness: Any, *argv: str) -> None:
    monkeypatch.setenv("USERS_DATABASE_URL", harness.db.url("users"))
    await asyncio.to_thread(main, list(argv))  # main() runs its own event loop


async def test_create_superuser_from_env_password(
    harness: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    email = harness.unique_email("root")
    monkeypatch.setenv("ROOT_PASSWORD", "root password 123")
    await run_cli(
        monkeypatch,
        harness,
        "create-superuser",
        "--email",
        f" {email.upper()} ",
        "--password-env",
        "ROOT_PASSWORD",
    )
    out = capsys.readouterr().out
    assert f"created superuser {email}" in out and "root password 123" not in out
    tokens = await harness.login(email, "root password 123")
    r = await harness.client.get("/api/v1/admin/users", headers=harness.bearer(tokens))
    assert r.status_code == 200, r.text
    me = (await harness.client.get("/api/v1/users/me", headers=harness.bearer(tokens))).json()
    assert me["is_superuser"] is True


async def test_promotes_an_existing_account(
    harness: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    user, tokens = await harness.account()
    assert (
        await harness.client.get("/api/v1/admin/users", headers=harness.bearer(tokens))
    ).status_code == 403
    await run_cli(monkeypatch, harness, "create-superuser", "--email", user["email"])  # no password needed
    assert "promoted" in capsys.readouterr().out
    assert (
        await harness.client.get("/api/v1/admin/users", headers=harness.bearer(tokens))
    ).status_code == 200
    await harness.login(user["email"])  # the password is unchanged


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--email", "not-an-email", "--password-env", "PW"], {"PW": "long enough"}, "not a valid email"),
        (["--email", "fresh@example.com", "--password-env", "UNSET_VAR_XYZ"], {}, "UNSET_VAR_XYZ"),
        (["--email", "fresh@example.com", "--password-env", "PW"], {"PW": "short"}, "8..128"),
    ],
)
async def test_refuses_bad_input(
    harness: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    argv: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as info:
        await run_cli(monkeypatch, harness, "create-superuser", *argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err
