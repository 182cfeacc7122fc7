"""Helper processes the cases start themselves: nginx (case 1) and scheduler workers (case 4)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from daybook_devtools.embedded import free_port, wait_for_port


@dataclass(frozen=True)
class Served:
    url: str
    """Base URL."""
    pid: int
    """Root of its process tree (CPU accounting)."""


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"):
        if Path(candidate).exists():
            return candidate
    return None


def nginx_version(binary: str) -> str:
    proc = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return (proc.stderr or proc.stdout).strip().removeprefix("nginx version: ")


def nginx_conf(workdir: Path, port: int, upstream: str) -> Path:
    """One worker (like the gateway's one Granian worker), keep-alive upstream, no access log."""
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/body; proxy_temp_path {workdir}/proxy;
  fastcgi_temp_path {workdir}/fcgi; uwsgi_temp_path {workdir}/uwsgi; scgi_temp_path {workdir}/scgi;
  upstream service {{ server {upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }}
  }}
}}
"""
    )
    return conf


def stop_group(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the process group we started, then SIGKILL it if it lingers."""
    stop_groups([proc], timeout)


def stop_groups(started: list[subprocess.Popen[bytes]], timeout: float = 10.0) -> None:
    """:func:`stop_group` of several at once: all are sent SIGTERM before any is waited for."""
    running = [proc for proc in started if proc.poll() is None]
    for proc in running:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (held open together while chosen, so none repeats)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


#: One process for :func:`listening_all`: command, port, log file, environment (None: ours).
Listener = tuple[list[str], int, Path, "dict[str, str] | None"]


@contextlib.contextmanager
def listening_all(
    listeners: list[Listener], timeout: float = 60.0
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Each command in a process group of its own, output to its log, once every one listens on
    its port; all stopped together (:func:`stop_groups`) on the way out.

    Spawned before any is waited for: a Python service spends seconds importing before it
    listens, and side by side those seconds overlap instead of adding up."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for cmd, _, log, env in listeners:
            with log.open("wb") as out:
                started.append(
                    subprocess.Popen(
                        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        for proc, (_, port, _, _) in zip(started, listeners, strict=True):
            wait_for_port(port, timeout, proc)
        yield started
    finally:
        stop_groups(started)


@contextlib.contextmanager
def listening(
    cmd: list[str], port: int, log: Path, env: dict[str, str] | None = None, timeout: float = 60.0
) -> Iterator[subprocess.Popen[bytes]]:
    """``cmd`` in a process group of its own, output to ``log``, once it listens on ``port``;
    the group is stopped (:func:`stop_group`) on the way out."""
    with listening_all([(cmd, port, log, env)], timeout) as (proc,):
        yield proc


@contextlib.contextmanager
def nginx(binary: str, workdir: Path, upstream: str) -> Iterator[Served]:
    """nginx in front of ``upstream`` (``host:port``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = nginx_conf(workdir, port, upstream)
    cmd = [binary, "-e", str(workdir / "nginx-error.log"), "-c", str(conf), "-p", str(workdir)]
    with listening(cmd, port, workdir / "nginx.log", timeout=15) as proc:
        yield Served(f"http://127.0.0.1:{port}", proc.pid)


def spawn_scheduler(
    database_url: str, log: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """One ``daybook-reminders-scheduler`` process with its default settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    env.update({"REMINDERS_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(extra_env or {})})
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "daybook_reminders.scheduler"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_started(procs: list[subprocess.Popen[bytes]], logs: list[Path], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc, log in zip(procs, logs, strict=True):
            if proc.poll() is not None:
                raise RuntimeError(f"a scheduler exited with {proc.returncode}: {log.read_text()[-1500:]}")
        if all("scheduler started" in log.read_text(errors="replace") for log in logs):
            return
        time.sleep(0.05)
    raise RuntimeError("schedulers did not start: " + " | ".join(log.read_text()[-500:] for log in logs))


@contextlib.contextmanager
def reference_server(dsn: str, users_file: Path, log: Path) -> Iterator[Served]:
    """Case 2's bare Litestar yardstick (``daybook_bench.reference``)."""
    port = free_port()
    env = {
        **os.environ,
        "DAYBOOK_BENCH_REF_DSN": dsn,
        "DAYBOOK_BENCH_REF_USERS": str(users_file),
        "PYTHONUNBUFFERED": "1",
    }
    with listening([sys.executable, "-m", "daybook_bench.reference", str(port)], port, log, env) as proc:
        yield Served(f"http://127.0.0.1:{port}", proc.pid)
