"""``serve`` with one worker runs Granian's embedded server in the process itself (issue 23: no
master process holding a second copy of the app), stops cleanly on SIGTERM, and exits 1 when the
app's startup fails, as Granian's master did."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from daybook_devtools.embedded import free_port, wait_for_port

FAILING_APP = """
async def app(scope, receive, send):
    message = await receive()
    if message["type"] == "lifespan.startup":
        await send({"type": "lifespan.startup.failed", "message": "no database"})


def create():
    return app
"""

SERVE = "import sys; from daybook_common.cli import serve; serve(sys.argv[1], '127.0.0.1', int(sys.argv[2]))"


def children(pid: int) -> list[str]:
    found: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += (task / "children").read_text().split()
    return found


@dataclass(frozen=True)
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path


@contextlib.contextmanager
def served_gateway(tmp_path: Path, **env: str) -> Iterator[Served]:
    """``daybook-gateway serve`` (one worker, no keys, ``env`` on top) listening on a free port;
    SIGTERM and a wait for its exit (``proc.returncode``) when the block ends."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    environ.update(GATEWAY_JWKS_JSON='{"keys": []}', GATEWAY_LOG_LEVEL="WARNING", **env)
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "daybook-gateway"), "serve", "--port", str(port)],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, 60, proc)
            yield Served(proc, port, log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def test_one_worker_is_served_in_the_process_itself_and_stops_on_sigterm(tmp_path: Path) -> None:
    with served_gateway(tmp_path) as served:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{served.port}/health", timeout=2) as r:
                    assert r.status == 200
                break
            except OSError:
                assert time.monotonic() < deadline, served.log.read_text()[-2000:]
                time.sleep(0.1)
        assert children(served.proc.pid) == []  # the answer came from this process, not a forked worker
    assert served.proc.returncode == 0, served.log.read_text()[-2000:]


def test_a_failed_startup_exits_1(tmp_path: Path) -> None:
    (tmp_path / "failing_app.py").write_text(FAILING_APP)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", SERVE, "failing_app:create", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    assert "lifespan startup failed" in out.stdout + out.stderr


def test_silent_connections_are_closed_after_the_header_read_timeout(tmp_path: Path) -> None:
    """A client that connects and sends nothing (or goes quiet on a keep-alive connection) is cut
    after ``<P>_HEADER_READ_TIMEOUT``. In Granian's default "auto" HTTP mode such a connection
    was never closed and held one of the 2,048 connection slots: 2,100 of them stopped the
    gateway from answering anyone."""
    import socket

    with served_gateway(tmp_path, GATEWAY_HEADER_READ_TIMEOUT="2") as served:
        port, log = served.port, served.log
        silent = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]
        quiet = socket.create_connection(("127.0.0.1", port), timeout=10)
        quiet.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert quiet.recv(100).startswith(b"HTTP/1.1 200"), log.read_text()[-2000:]
        started = time.monotonic()
        for sock in [*silent, quiet]:
            while sock.recv(65536) != b"":  # the server closes it (a timeout here fails the test)
                pass
        took = time.monotonic() - started
        assert took < 8, took
        # More silent connections than Granian's default 2,048 slots: others are still served.
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(soft, 4096), hard), hard))
        crowd = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2100)]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1.5) as r:
                assert r.status == 200
        finally:
            for sock in crowd:
                sock.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            assert r.status == 200
