"""A port already in use stops ``daybook up`` before anything starts, with one line naming the variable."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import check_ports
from daybook_devtools.embedded import PortInUseError, free_port

PORT_VARIABLES = (
    "GATEWAY_PORT",
    "USERS_PORT",
    "JOURNAL_PORT",
    "REMINDERS_PORT",
    "DAYBOOK_PG_PORT",
    "DAYBOOK_NATS_PORT",
)


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


def _env(tmp_path: Path, **ports: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "NATS_URL", *PORT_VARIABLES}}
    env.update({name: str(free_port()) for name in PORT_VARIABLES})
    env.update({name: str(port) for name, port in ports.items()})
    env["DAYBOOK_DATA_DIR"] = str(tmp_path / "data")
    return env


@pytest.mark.parametrize("variable", PORT_VARIABLES)
def test_up_names_the_port_and_the_variable(tmp_path: Path, busy_port: int, variable: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "daybook_deploy.cli", "up"],
        env=_env(tmp_path, **{variable: busy_port}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"daybook: port {busy_port} is already in use; set {variable} to a free port"
    ]
    assert not (tmp_path / "data").exists(), "nothing may start before every port is checked"


def test_two_services_on_one_port(tmp_path: Path) -> None:
    port = free_port()
    config = StackConfig(
        data_dir=tmp_path,
        # Its own PostgreSQL and NATS ports too: the defaults may be taken by a running `daybook up`.
        pg_port=free_port(),
        nats_port=free_port(),
        ports={"users": port, "journal": port, "reminders": free_port(), "gateway": free_port()},
    )
    with pytest.raises(PortInUseError) as caught:
        check_ports(config)
    assert caught.value.variable == "JOURNAL_PORT"


def test_external_servers_need_no_local_ports(tmp_path: Path, busy_port: int) -> None:
    config = StackConfig(
        data_dir=tmp_path,
        database_url="postgresql://postgres@127.0.0.1:5432/postgres",
        nats_url="nats://127.0.0.1:4222",
        pg_port=busy_port,
        nats_port=busy_port,
        ports={
            "users": free_port(),
            "journal": free_port(),
            "reminders": free_port(),
            "gateway": free_port(),
        },
    )
    check_ports(config)
