"""PostgreSQL and NATS restarted from outside stay the launcher's (issue 12).

A crash, an upgrade or an operator restarts the embedded servers with the same command line
while ``daybook up`` runs.  The launcher finds them again by their data directory
(``postmaster.pid``, NATS's pid file): its stop stops them, and a server left running never
blocks the next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from daybook_deploy.config import StackConfig
from daybook_deploy.launcher import Stack, StackError
from daybook_devtools.embedded import free_port, port_is_free, run_as_user, terminate_pid


def _cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().rstrip("\0").split("\0")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = (
        Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[-1][:1] if Path(f"/proc/{pid}").exists() else "X"
    )
    return state not in {"Z", "X"}


def _wait(condition: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def restart_from_outside(pid: int, port: int, *, user: str | None, sig: int = signal.SIGKILL) -> int:
    """Stop the server like a crash and start it again with the same command line, not as our child."""
    command = _cmdline(pid)
    os.kill(pid, sig)
    assert _wait(lambda: not _alive(pid) and port_is_free(port)), f"pid {pid} did not go"
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        user=user,
    )
    assert _wait(lambda: not port_is_free(port)), f"{command[0]} did not start again"
    return proc.pid


#: PostgreSQL's immediate shutdown (a SIGKILLed postmaster leaves backends holding its shared memory).
IMMEDIATE = signal.SIGQUIT


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


@pytest.fixture
def outside() -> Iterator[list[int]]:
    """Pids of the servers a test started "from outside": whatever the test's fate, none outlives it."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _alive(pid):
            terminate_pid(pid, signal.SIGQUIT, timeout=10)


@pytest.fixture
def config(tmp_path: Path) -> StackConfig:
    return StackConfig(
        data_dir=tmp_path / "data",
        pg_port=free_port(),
        nats_port=free_port(),
        ports={
            "users": free_port(),
            "journal": free_port(),
            "reminders": free_port(),
            "gateway": free_port(),
        },
        services=("users",),
        pg_fsync=False,
        ready_timeout=180,
        log_dir=tmp_path / "logs",
    )


def test_servers_restarted_from_outside_are_stopped_and_never_block_a_start(
    config: StackConfig, outside: list[int]
) -> None:
    stack = Stack(config, report=lambda line: None)
    try:
        stack.start()
        assert stack.postgres is not None and stack.postgres.proc is not None
        assert stack.nats is not None and stack.nats.proc is not None
        # Restarted from outside: the launcher's own child processes are gone.
        outside_pg = restart_from_outside(
            stack.postgres.proc.pid, config.pg_port, user=run_as_user(), sig=IMMEDIATE
        )
        outside_nats = restart_from_outside(stack.nats.proc.pid, config.nats_port, user=None)
        outside.extend((outside_pg, outside_nats))
        assert _postmaster_pid(config.pg_data_dir) == outside_pg
    finally:
        stack.stop()
    assert _wait(lambda: not _alive(outside_pg) and not _alive(outside_nats)), "stop left a server running"
    assert port_is_free(config.pg_port) and port_is_free(config.nats_port)

    # Left running by someone else (e.g. a launcher that was SIGKILLed): the next start is not blocked.
    stack = Stack(config, report=lambda line: None)
    try:
        stack.start()
        assert stack.postgres is not None and stack.postgres.proc is not None
        assert stack.nats is not None and stack.nats.proc is not None
        leftover_pg = restart_from_outside(
            stack.postgres.proc.pid, config.pg_port, user=run_as_user(), sig=IMMEDIATE
        )
        leftover_nats = restart_from_outside(stack.nats.proc.pid, config.nats_port, user=None)
        outside.extend((leftover_pg, leftover_nats))
        stack.postgres.proc = stack.nats.proc = None  # forget them, as a new launcher process would
        stack.postgres = stack.nats = None
        stack.stop()

        again = Stack(config, report=lambda line: None)
        try:
            again.start()
            assert not _alive(leftover_pg) and not _alive(leftover_nats)
            assert again.postgres is not None and again.postgres.proc is not None
            assert _postmaster_pid(config.pg_data_dir) == again.postgres.proc.pid
        finally:
            again.stop()
    finally:
        stack.stop()
    assert port_is_free(config.pg_port) and port_is_free(config.nats_port)


def test_a_second_launcher_on_the_same_data_dir_is_refused(config: StackConfig) -> None:
    first = Stack(config, report=lambda line: None)
    try:
        first.start()
        with pytest.raises(StackError, match="already runs"):
            Stack(config, report=lambda line: None).start()
        assert first.postgres is not None and first.postgres.proc is not None
        assert first.postgres.proc.poll() is None, "the second launcher stopped the first one's server"
    finally:
        first.stop()
