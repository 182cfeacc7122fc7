"""``daybook up`` end to end, as a person runs it: embedded PostgreSQL and NATS, every process,
``/ready``, ``daybook status`` — then Ctrl-C (and, on the second run, SIGTERM) leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from daybook_devtools.embedded import free_port

PORT_VARIABLES = (
    "GATEWAY_PORT",
    "USERS_PORT",
    "JOURNAL_PORT",
    "REMINDERS_PORT",
    "DAYBOOK_PG_PORT",
    "DAYBOOK_NATS_PORT",
    "GATEWAY_ADMIN_PORT",  # the metrics listeners too: another stack on the defaults must not matter
    "REMINDERS_SCHEDULER_PORT",
    "DAYBOOK_PGBOUNCER_PORT",
)
READY_WITHIN = 240  # generous: a loaded CI machine; the real numbers are measured, not asserted


class Up:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "daybook_deploy.cli", "up"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        stream = self.proc.stdout
        self.reader = threading.Thread(
            target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True
        )
        self.reader.start()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, url: str) -> None:
        """Until the gateway's /ready is 200 and the launcher has said so: only then does it
        supervise its children (a part killed while it still waits for /ready is not restarted;
        the launcher gives up after its start-up timeout, as a failed start)."""
        deadline = time.monotonic() + READY_WITHIN
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"daybook up exited early:\n{self.output}"
            try:
                with urllib.request.urlopen(url + "/ready", timeout=2) as response:
                    if response.status == 200 and "Press Ctrl-C to stop." in self.output:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        self.proc.kill()
        pytest.fail(f"not ready within {READY_WITHIN}s:\n{self.output}")

    def processes(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self, sig: signal.Signals) -> int:
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(120)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.reader.join(5)
        return code


def _alive(processes: list[psutil.Process]) -> list[str]:
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{process.pid} {' '.join(process.cmdline())}")
        except psutil.NoSuchProcess:
            continue
    return left


def _anything_using(path: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if (
                str(path) in " ".join(process.info["cmdline"] or [])
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(f"{process.pid} {' '.join(process.info['cmdline'])}")
        except psutil.NoSuchProcess:
            continue
    return found


def _stack_env(data: Path) -> tuple[dict[str, str], str]:
    """``daybook up``'s environment on free ports and ``data``; and the gateway's URL."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "NATS_URL", *PORT_VARIABLES}}
    env.update({name: str(free_port()) for name in PORT_VARIABLES})
    env["DAYBOOK_DATA_DIR"] = str(data)
    env["DAYBOOK_WEB"] = (
        "off"  # no npm build in the repository's web/ here: test_webapp.py and web/e2e cover it
    )
    return env, f"http://127.0.0.1:{env['GATEWAY_PORT']}"


def _current_pid(up: Up, entry: str, other_than: int | None = None) -> int | None:
    """The pid of the launcher's child running ``entry`` now (its process group leader), if any."""
    for process in psutil.Process(up.proc.pid).children():
        try:
            cmdline, status = process.cmdline(), process.status()
            if entry in cmdline and process.pid != other_than and status != psutil.STATUS_ZOMBIE:
                return process.pid
        except psutil.NoSuchProcess:
            continue
    return None


def _service_pid(up: Up, entry: str, other_than: int | None = None, within: float = 120) -> int:
    """:func:`_current_pid`, waited for."""
    deadline = time.monotonic() + within
    while (pid := _current_pid(up, entry, other_than)) is None:
        assert up.proc.poll() is None, f"daybook up exited:\n{up.output}"
        if time.monotonic() > deadline:
            pytest.fail(f"no process runs {entry}:\n{up.output}")
        time.sleep(0.05)
    return pid


def _ready_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url + "/ready", timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def _wait_for_line(up: Up, text: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while text not in up.output:
        assert time.monotonic() < deadline and up.proc.poll() is None, f"no {text!r} in:\n{up.output}"
        time.sleep(0.05)


Launch = Callable[[dict[str, str]], Up]


@pytest.fixture
def launch() -> Iterator[Launch]:
    """``Up(env)``, stopped after the test if an assertion left it running."""
    started: list[Up] = []

    def start(env: dict[str, str]) -> Up:
        started.append(Up(env))
        return started[-1]

    yield start
    for up in started:
        if up.proc.poll() is None:
            up.stop(signal.SIGINT)


def test_up_ready_status_and_clean_stop(tmp_path: Path, launch: Launch) -> None:
    data = tmp_path / "data"
    env, gateway = _stack_env(data)

    first = launch(env)
    first.wait_ready(gateway)
    processes = first.processes()
    names = " ".join(" ".join(p.cmdline()) for p in processes)
    for expected in (
        "postgres",
        "nats-server",
        "daybook_users.cli",
        "daybook_journal.cli",
        "daybook_gateway.cli",
    ):
        assert expected in names, names
    status = subprocess.run(
        [sys.executable, "-m", "daybook_deploy.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stdout + status.stderr
    assert "users migrations" in status.stdout and "(head)" in status.stdout
    # Every process's /metrics is listed and answers (the gateway's on its admin port).
    for name in ("users", "journal", "reminders", "reminders-scheduler", "gateway"):
        assert f"{name} metrics" in status.stdout, status.stdout
    assert status.stdout.count("/metrics") == 5
    migrate = subprocess.run(
        [sys.executable, "-m", "daybook_deploy.cli", "migrate", "journal"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert first.stop(signal.SIGINT) == 0, first.output
    assert _alive(processes) == []
    assert _anything_using(data) == []
    assert "Daybook is ready" in first.output and f"gateway    {gateway}" in first.output
    assert "users               | " in first.output  # each child's lines carry its name

    password = (data / "secrets" / "users-db-password").read_text()
    second = launch(env)  # reuses the cluster, the passwords and the applied migrations
    second.wait_ready(gateway)
    processes = second.processes()
    assert "initialising PostgreSQL" not in second.output
    # Stopped while a killed service waits for its restart: it is not started again, nothing stays.
    os.kill(_service_pid(second, "daybook_reminders.cli:main"), signal.SIGKILL)
    _wait_for_line(second, "reminders (pid ")
    assert second.stop(signal.SIGTERM) == 0, second.output
    assert _alive(processes) == []
    assert _anything_using(data) == []
    assert (data / "secrets" / "users-db-password").read_text() == password

    down = subprocess.run(
        [sys.executable, "-m", "daybook_deploy.cli", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 1
    assert "down" in down.stdout


def _wait_ready_again(up: Up, gateway: str, what: str) -> set[int | None]:
    """Poll the gateway's /ready until it was 503 and is 200 again; the statuses seen."""
    seen: set[int | None] = set()
    deadline = time.monotonic() + READY_WITHIN
    while not (503 in seen and _ready_status(gateway) == 200):
        assert up.proc.poll() is None, f"daybook up stopped on {what}:\n{up.output}"
        assert time.monotonic() < deadline, (
            f"not ready again after {what}, /ready answered {seen}:\n{up.output}"
        )
        seen.add(_ready_status(gateway))
        time.sleep(0.1)
    return seen


def _pgbouncer_pid(up: Up, other_than: int | None = None, within: float = 60) -> int:
    """The pid of the launcher's PgBouncer (not ``other_than``), waited for."""
    deadline = time.monotonic() + within
    while True:
        for process in psutil.Process(up.proc.pid).children():
            try:
                cmdline, status = process.cmdline(), process.status()
            except psutil.NoSuchProcess:
                continue
            pgbouncer = cmdline and cmdline[0].endswith("pgbouncer")
            if pgbouncer and status != psutil.STATUS_ZOMBIE and process.pid != other_than:
                return process.pid
        assert time.monotonic() < deadline and up.proc.poll() is None, f"no PgBouncer:\n{up.output}"
        time.sleep(0.05)


def _postmaster(data: Path) -> int:
    return int((data / "postgres" / "postmaster.pid").read_text().split()[0])


def _wait_ready(url: str, within: float = READY_WITHIN) -> None:
    deadline = time.monotonic() + within
    while _ready_status(url) != 200:
        assert time.monotonic() < deadline, f"{url}/ready is not 200"
        time.sleep(0.1)


def test_killed_parts_are_restarted_until_one_exits_quickly_too_often(tmp_path: Path, launch: Launch) -> None:
    """SIGKILL of the embedded PostgreSQL, of the PgBouncer, of the gateway while NATS waits for
    its restart, then of one service: each is reaped and started again, the gateway's /ready
    503 meanwhile; the service's second quick exit in a row (DAYBOOK_RESTARTS=2) stops everything
    with a clear message."""
    data = tmp_path / "data"
    env, gateway = _stack_env(data)
    env["DAYBOOK_RESTARTS"] = "2"
    env["DAYBOOK_PGBOUNCER"] = "1"  # the services' pooled URLs go through it
    up = launch(env)
    up.wait_ready(gateway)
    processes = up.processes()

    postmaster = _postmaster(data)
    os.kill(postmaster, signal.SIGKILL)
    _wait_ready_again(up, gateway, "a killed PostgreSQL")
    assert f"daybook: PostgreSQL (pid {postmaster}) exited with code -9; restarting it in " in up.output
    # The services may be back (/ready 200) before the launcher's start() of PostgreSQL returns.
    _wait_for_line(up, "daybook: PostgreSQL restarted (pid ")
    assert not psutil.pid_exists(postmaster)  # reaped, not a zombie
    processes += up.processes()

    pooler = _pgbouncer_pid(up)
    os.kill(pooler, signal.SIGKILL)
    _wait_for_line(up, f"daybook: PgBouncer (pid {pooler}) exited with code -9; restarting it in ")
    _wait_for_line(up, "daybook: PgBouncer restarted (pid ")
    assert _pgbouncer_pid(up, other_than=pooler) and not psutil.pid_exists(pooler)
    _wait_ready(gateway)  # the services' /ready asks the database through the new PgBouncer
    processes += up.processes()

    # A part dying while NATS waits for its restart is noticed at once, not after it: the
    # launcher used to sleep through the pause and the server's start before looking again.
    gateway_pid = _service_pid(up, "daybook_gateway.cli:main")
    nats = int((data / "nats.pid").read_text().split()[0])
    os.kill(nats, signal.SIGKILL)
    _wait_for_line(up, f"daybook: NATS (pid {nats}) exited with code -9; restarting it in ")
    os.kill(gateway_pid, signal.SIGKILL)
    gone = f"daybook: gateway (pid {gateway_pid}) exited with code -9; restarting it in "
    _wait_for_line(up, gone)
    _wait_for_line(up, "daybook: NATS restarted (pid ")
    assert up.output.index(gone) < up.output.index("daybook: NATS restarted (pid "), up.output
    _wait_for_line(up, "daybook: gateway restarted (pid ")
    _wait_ready(gateway)
    processes += up.processes()

    first = _service_pid(up, "daybook_journal.cli:main")
    os.kill(first, signal.SIGKILL)
    _wait_ready_again(up, gateway, "one killed service")
    # 1 s after a long run, 2 s when it ran < 30 s (a loaded machine may take that long to get here)
    assert re.search(rf"journal \(pid {first}\) exited with code -9; restarting it in [12]s", up.output)
    _wait_for_line(up, "journal restarted (pid ")
    processes += up.processes()

    # Killed again each time it is back (quick exits in a row): the second quick one gives up.
    previous, kills = first, 0
    deadline = time.monotonic() + READY_WITHIN
    while up.proc.poll() is None and kills < 3 and time.monotonic() < deadline:
        pid = _current_pid(up, "daybook_journal.cli:main", other_than=previous)
        if pid is not None:
            processes += up.processes()
            os.kill(pid, signal.SIGKILL)
            previous, kills = pid, kills + 1
        time.sleep(0.05)
    try:
        code = up.proc.wait(120)
    finally:
        if up.proc.poll() is None:
            os.killpg(up.proc.pid, signal.SIGKILL)
    up.reader.join(5)
    assert code == 1, up.output
    assert (
        "journal exited with code -9, 2 times in a row within 30s of starting; giving up; stopping everything"
        in up.output
    )
    assert "daybook: stopped" in up.output
    assert _alive(processes) == []
    assert _anything_using(data) == []
