"""``serve`` with several workers: the metrics directory of a SIGKILLed Granian master is removed
by the next start once nothing of that master runs, and a live one never is.

A master that exits normally removes its own directory; one killed with SIGKILL (the OOM killer,
``kill -9``) left ``daybook-<service>-metrics-*`` in the temporary directory, one more per death.
Its workers outlive it (they keep serving and writing there), so the directory stays until they
are gone too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from daybook_devtools.embedded import free_port, wait_for_port

APP = """
from daybook_common.metrics import HTTP_REQUESTS, render


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    HTTP_REQUESTS.labels("tinysvc", "GET", "/", "200").inc()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": render()})


def create():
    return app
"""
SERVE = (
    "import sys; from daybook_common.cli import serve; "
    "serve('tinysvc.app:create', '127.0.0.1', int(sys.argv[1]), workers=2)"
)


class Servers:
    """``serve`` processes of a tiny app with two workers, all with ``tmp`` as their TMPDIR."""

    def __init__(self, root: Path) -> None:
        (root / "pkg" / "tinysvc").mkdir(parents=True)
        (root / "pkg" / "tinysvc" / "__init__.py").write_text("")
        (root / "pkg" / "tinysvc" / "app.py").write_text(APP)
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        self.env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        self.env.update(TMPDIR=str(self.tmp), PYTHONPATH=str(root / "pkg"), TINYSVC_LOG_LEVEL="WARNING")
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVE, str(port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.started.append(proc)
        wait_for_port(port, 60, proc)
        return proc, port

    def directory(self, proc: subprocess.Popen[bytes]) -> Path:
        [found] = self.tmp.glob(f"daybook-tinysvc-metrics-{proc.pid}-*")
        return found

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # workers of a master killed first


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    running = Servers(tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return response.status == 200 and b"daybook_http_requests_total" in response.read()
    except OSError:
        return False


def group_gone(pgid: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, f"process group {pgid} still runs"
        time.sleep(0.05)


def test_a_killed_masters_metrics_directory_goes_at_the_next_start_once_its_workers_are_gone(
    servers: Servers,
) -> None:
    live, live_port = servers.start()
    killed, killed_port = servers.start()
    live_dir, killed_dir = servers.directory(live), servers.directory(killed)
    assert answers(killed_port)  # a worker has written its file there

    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(10)
    assert answers(killed_port), "the workers outlive their master and still use the directory"
    servers.start()
    assert killed_dir.exists() and live_dir.exists(), "removed while its workers run"

    os.killpg(killed.pid, signal.SIGKILL)  # what the launcher does to a dead service's group
    group_gone(killed.pid)
    latest, _ = servers.start()
    assert not killed_dir.exists()
    assert live_dir.exists() and servers.directory(latest).exists()
    assert answers(live_port)  # the live one untouched, still adding up its workers' files

    servers.stop_all()  # a master that exits normally removes its own
    assert list(servers.tmp.iterdir()) == []
