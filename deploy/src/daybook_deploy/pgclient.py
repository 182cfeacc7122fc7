"""Running PostgreSQL's client programs (``pg_dump``, ``pg_restore``, ``psql``) against a URL.

The password goes through ``PGPASSWORD`` in the child's environment, never on its command
line (which any local user can read in ``ps``) nor in a message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from daybook_devtools.embedded import pg_program


def libpq_target(url: str, database: str) -> tuple[str, dict[str, str]]:
    """``(connection string without a password, environment with PGPASSWORD)`` for ``database``."""
    parsed = make_url(url).set(drivername="postgresql", database=database)
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def program_version(name: str) -> str:
    done = subprocess.run([pg_program(name), "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def human_size(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError


def run_with_progress(
    command: list[str], env: dict[str, str], label: str, measure: Callable[[], int] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``command`` (its output is discarded, its errors kept) with :func:`wait_with_progress`."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = wait_with_progress(proc, label, measure)
    return subprocess.CompletedProcess(command, proc.returncode, b"", err)


def wait_with_progress(
    proc: subprocess.Popen[bytes], label: str, measure: Callable[[], int] | None = None
) -> bytes:
    """Wait for ``proc`` and return its stderr; on a terminal, keep one line showing ``label``,
    the elapsed time and ``measure()`` bytes (e.g. the size of the file being written)."""
    tty = sys.stderr.isatty()
    began = time.monotonic()
    while True:
        try:
            _, err = proc.communicate(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if tty:
                done = f"  {human_size(measure())}" if measure is not None else ""
                sys.stderr.write(f"\r  {label}  {time.monotonic() - began:5.1f}s{done}   ")
                sys.stderr.flush()
    if tty:
        sys.stderr.write("\r" + " " * (len(label) + 30) + "\r")
        sys.stderr.flush()
    return err or b""


def file_size(path: Path) -> Callable[[], int]:
    return lambda: path.stat().st_size if path.exists() else 0


def tail(text: bytes, limit: int = 1500) -> str:
    return text.decode(errors="replace").strip()[-limit:]
