"""Stopping a child stops its whole process group, even parts that ignore SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from daybook_deploy.launcher import exit_status, stop_group

# Says "ready" once SIGTERM is ignored: a slow start (a loaded machine, coverage in the child) must
# not let the signal arrive first.
STUBBORN = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(600)"
)


def _spawn(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE)


def _descendants(proc: subprocess.Popen[bytes], count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = psutil.Process(proc.pid).children(recursive=True)
        if len(found) >= count:
            return found
        time.sleep(0.05)
    raise AssertionError("the grandchild did not start")


def _gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_leader_that_ignores_sigterm_is_killed() -> None:
    proc = _spawn(STUBBORN)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    began = time.monotonic()
    stop_group(proc, timeout=1)
    assert proc.returncode == -9
    assert time.monotonic() - began < 10


def test_what_the_leader_leaves_behind_is_killed_too() -> None:
    proc = _spawn(
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {STUBBORN!r}]); time.sleep(600)"
    )
    (grandchild,) = _descendants(proc, 1)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"  # the grandchild's
    stop_group(proc, timeout=5)
    assert proc.returncode == -15
    psutil.wait_procs([grandchild], timeout=10)
    assert _gone(grandchild)


def test_exit_status_does_not_reap() -> None:
    proc = _spawn("raise SystemExit(3)")
    deadline = time.monotonic() + 30
    while exit_status(proc) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert exit_status(proc) == 3
    assert proc.returncode is None  # still a zombie: its pid (and group id) stays reserved
    assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
    stop_group(proc, timeout=1)
    assert proc.returncode == 3
