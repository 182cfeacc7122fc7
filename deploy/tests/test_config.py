"""The launcher's settings and the passwords it keeps in the data dir."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from daybook_deploy.config import ConfigError, StackConfig
from daybook_deploy.services import SERVICES, service_env


def test_defaults() -> None:
    config = StackConfig.from_env({})
    assert config.data_dir == Path(".daybook").absolute()
    assert (config.pg_port, config.nats_port) == (15432, 14222)
    assert config.ports == {
        "users": 8001,
        "journal": 8002,
        "reminders": 8003,
        "gateway": 8000,
        "gateway-admin": 8009,
        "reminders-scheduler": 8004,
    }
    assert config.embedded_pg and config.embedded_nats
    assert config.gateway_url == "http://127.0.0.1:8000"


def test_environment_overrides(tmp_path: Path) -> None:
    config = StackConfig.from_env(
        {
            "DAYBOOK_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgresql://admin:pw@db.example:5432/postgres",
            "NATS_URL": "nats://nats.example:4222",
            "GATEWAY_PORT": "9000",
            "USERS_PORT": "9001",
            "GATEWAY_ADMIN_PORT": "9009",
            "DAYBOOK_PG_PORT": "25432",
            "DAYBOOK_JOURNAL_DB_PASSWORD": "given",
        }
    )
    assert config.data_dir == tmp_path
    assert not config.embedded_pg and not config.embedded_nats
    assert config.ports["gateway"] == 9000 and config.ports["users"] == 9001 and config.pg_port == 25432
    assert config.ports["gateway-admin"] == 9009
    assert config.role_password("journal") == "given"
    assert not (tmp_path / "secrets" / "journal-db-password").exists()


@pytest.mark.parametrize("value", ["eighty", "0", "70000"])
def test_bad_port_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_PORT"):
        StackConfig.from_env({"GATEWAY_PORT": value})


def test_role_password_is_made_once_and_private(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path)
    first = config.role_password("users")
    assert len(first) >= 32
    assert StackConfig(data_dir=tmp_path).role_password("users") == first
    assert config.role_password("journal") != first
    path = tmp_path / "secrets" / "users-db-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert StackConfig(data_dir=tmp_path).stored_role_password("reminders") is None


def test_every_process_gets_its_prefix_only() -> None:
    for spec in SERVICES:
        for name in spec.env_names():
            assert name.startswith(f"{spec.prefix}_") or name == "USERS_SIGNING_KEY_FILE", name


def test_service_env_values() -> None:
    from daybook_deploy.services import BY_NAME, Endpoints

    at = Endpoints(
        host="127.0.0.1",
        service_urls={
            "users": "http://127.0.0.1:1",
            "journal": "http://127.0.0.1:2",
            "reminders": "http://127.0.0.1:3",
        },
        ports={
            "users": 1,
            "journal": 2,
            "reminders": 3,
            "gateway": 4,
            "gateway-admin": 5,
            "reminders-scheduler": 6,
        },
        database_urls={"users": "pg-u", "journal": "pg-j", "reminders": "pg-r"},
        nats_url="nats://n",
        signing_key_file="/k.pem",
    )
    assert service_env(BY_NAME["journal"], at) == {
        "JOURNAL_HOST": "127.0.0.1",
        "JOURNAL_PORT": "2",
        "JOURNAL_DATABASE_URL": "pg-j",
        "JOURNAL_NATS_URL": "nats://n",
        "JOURNAL_JWKS_URL": "http://127.0.0.1:1/api/v1/auth/jwks",
    }
    assert service_env(BY_NAME["gateway"], at) == {
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": "4",
        "GATEWAY_NATS_URL": "nats://n",
        "GATEWAY_JWKS_URL": "http://127.0.0.1:1/api/v1/auth/jwks",
        "GATEWAY_USERS_URL": "http://127.0.0.1:1",
        "GATEWAY_JOURNAL_URL": "http://127.0.0.1:2",
        "GATEWAY_REMINDERS_URL": "http://127.0.0.1:3",
        "GATEWAY_ADMIN_HOST": "127.0.0.1",
        "GATEWAY_ADMIN_PORT": "5",
    }
    users = service_env(BY_NAME["users"], at)
    assert users["USERS_SIGNING_KEY_FILE"] == "/k.pem"
    assert users["USERS_MAIL_DIR"] == "/var/lib/daybook/mail"  # Endpoints' default: compose's volume
    assert users["USERS_PUBLIC_URL"] == "http://127.0.0.1:4"  # the links lead to the gateway
    assert service_env(BY_NAME["reminders-scheduler"], at) == {
        "REMINDERS_DATABASE_URL": "pg-r",
        "REMINDERS_SCHEDULER_HOST": "127.0.0.1",
        "REMINDERS_SCHEDULER_PORT": "6",
    }


def test_selection_adds_what_a_process_needs() -> None:
    from daybook_deploy.services import selection

    assert [s.name for s in selection(["gateway"])] == ["users", "journal", "reminders", "gateway"]
    assert [s.name for s in selection(["journal"])] == ["journal"]
    assert selection([]) == SERVICES
    with pytest.raises(KeyError, match="nope"):
        selection(["nope"])


def test_forwarded_commands_get_the_launchers_settings(tmp_path: Path) -> None:
    from daybook_deploy.operations import forwarded_env
    from daybook_deploy.services import BY_NAME

    config = StackConfig.from_env({"DAYBOOK_DATA_DIR": str(tmp_path), "JOURNAL_PORT": "9002"})
    assert "JOURNAL_DATABASE_URL" not in forwarded_env(config, BY_NAME["journal"])  # no password yet
    password = config.role_password("journal")
    env = forwarded_env(config, BY_NAME["journal"])
    assert env["JOURNAL_DATABASE_URL"] == f"postgresql://journal:{password}@127.0.0.1:15432/daybook"
    assert env["JOURNAL_PORT"] == "9002"
    assert env["JOURNAL_NATS_URL"] == "nats://127.0.0.1:14222"
