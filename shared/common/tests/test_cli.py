"""Every service's command line comes from ``daybook_common.cli.service_main``: same options, same
variables, the package's port and history, settings checked before anything binds."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest

from daybook_common import cli as common_cli
from daybook_common.settings import SettingsError
from daybook_devtools.testing.databases import TestDatabase

SERVICES = {"users": 8001, "journal": 8002, "reminders": 8003, "gateway": 8000}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(common_cli, "serve", lambda *args: calls.append(args))
    for name in SERVICES:
        for suffix in ("HOST", "PORT", "WORKERS"):
            monkeypatch.delenv(f"{name.upper()}_{suffix}", raising=False)
    return calls


def main(service: str) -> Any:
    return importlib.import_module(f"daybook_{service}.cli").main


@pytest.mark.parametrize(("service", "port"), SERVICES.items())
def test_serve_defaults_to_the_package_port(service: str, port: int, served: list[tuple[Any, ...]]) -> None:
    main(service)(["serve"])
    assert served == [(f"daybook_{service}.app:create_served_app", "127.0.0.1", port, 1)]


@pytest.mark.parametrize("service", SERVICES)
def test_serve_reads_its_own_variables_and_flags_win(
    service: str, served: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = service.upper()
    monkeypatch.setenv(f"{prefix}_HOST", "0.0.0.0")
    monkeypatch.setenv(f"{prefix}_PORT", "9123")
    monkeypatch.setenv(f"{prefix}_WORKERS", "3")
    main(service)(["serve"])
    main(service)(["serve", "--port", "9124", "--host", "127.0.0.2", "--workers", "2"])
    factory = f"daybook_{service}.app:create_served_app"
    assert served == [(factory, "0.0.0.0", 9123, 3), (factory, "127.0.0.2", 9124, 2)]


def test_an_empty_variable_means_the_default(
    served: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOURNAL_PORT", "")
    monkeypatch.setenv("JOURNAL_HOST", "")
    main("journal")(["serve"])
    assert served == [("daybook_journal.app:create_served_app", "127.0.0.1", 8002, 1)]


@pytest.mark.parametrize("service", SERVICES)
def test_bad_settings_fail_before_anything_is_served(
    service: str, served: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = "GATEWAY_TIMEOUT" if service == "gateway" else f"{service.upper()}_DB_POOL_SIZE"
    monkeypatch.setenv(variable, "many")
    with pytest.raises(SettingsError):
        main(service)(["serve"])
    assert served == []


def test_the_gateway_has_no_migrations(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main("gateway")(["migrate"])
    assert exit_.value.code == 2
    assert "invalid choice: 'migrate'" in capsys.readouterr().err


async def test_migrate_and_downgrade_run_the_service_history(
    fresh_database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMINDERS_DATABASE_URL", fresh_database.url("reminders"))

    async def version() -> str | None:
        conn = await fresh_database.connect_as("reminders")
        try:
            exists = await conn.fetchval("SELECT to_regclass('reminders.alembic_version') IS NOT NULL")
            return (
                await conn.fetchval("SELECT version_num FROM reminders.alembic_version") if exists else None
            )
        finally:
            await conn.close()

    await asyncio.to_thread(main("reminders"), ["migrate"])
    head = await version()
    assert head is not None
    await asyncio.to_thread(main("reminders"), ["downgrade", "base"])
    assert await version() is None
    await asyncio.to_thread(main("reminders"), ["migrate"])
    assert await version() == head
