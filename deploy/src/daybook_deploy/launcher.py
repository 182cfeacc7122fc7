"""The whole Daybook stack on one machine: ``daybook up`` and the root tests use :class:`Stack`.

Order of a start: check every port, start PostgreSQL and NATS (embedded unless URLs are
given), create the JetStream stream, provision roles and schemas, run the migrations of each
history not at its head already, start each service as a child process in its own process
group, then wait for the gateway's ``/ready``.  :meth:`Stack.stop` undoes it in reverse order and kills
whole process groups, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from daybook_deploy import webapp
from daybook_deploy.config import StackConfig
from daybook_deploy.services import (
    GATEWAY,
    HTTP_SERVICES,
    JWKS_PATH,
    MIGRATING,
    SCHEMAS,
    SERVICES,
    Endpoints,
    ServiceSpec,
    script_location,
    selection,
    service_env,
)
from daybook_deploy.webapp import WebBuild
from daybook_devtools.embedded import EmbeddedNats, EmbeddedPostgres, PortInUseError, port_is_free
from daybook_devtools.pgbouncer import EmbeddedPgBouncer

if TYPE_CHECKING:
    from daybook_devtools.provision import ServiceRole

T = TypeVar("T")
Reporter = Callable[[str], None]


class StackError(RuntimeError):
    """The stack could not start; the message says which part and why."""


def run_in_thread(fn: Callable[..., T], *args: Any) -> T:
    """Blocking work that calls ``asyncio.run`` (Alembic's env, provisioning) off the caller's loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def check_ports(config: StackConfig) -> None:
    """Raise :class:`PortInUseError` for the first port that is taken (before anything starts)."""
    wanted: list[tuple[int, str, str]] = []
    if config.embedded_pg:
        wanted.append((config.pg_port, "DAYBOOK_PG_PORT", "127.0.0.1"))
    if config.embedded_nats:
        wanted.append((config.nats_port, "DAYBOOK_NATS_PORT", "127.0.0.1"))
    if config.pgbouncer:
        wanted.append((config.pgbouncer_port, "DAYBOOK_PGBOUNCER_PORT", "127.0.0.1"))
    for spec in selection(config.services):
        if spec.port is None or (spec.optional and not spec.available()):
            continue
        host = config.gateway_host if spec.name == "gateway" else config.host
        for index in range(config.replicas(spec.name)):
            variable = spec.port_variable + (f" + {index * 10} (replica {index + 1})" if index else "")
            wanted.append((config.port_of(spec.name, index), variable, host))
    for spec in selection(config.services):
        if spec.metrics_port is not None and (not spec.optional or spec.available()):
            for index in range(config.replicas(spec.name)):
                variable = spec.metrics_port_variable + (
                    f" + {index * 10} (replica {index + 1})" if index else ""
                )
                wanted.append((config.port_of(spec.metrics_key, index), variable, config.host))
    seen: dict[int, str] = {}
    for port, variable, host in wanted:
        if port in seen:
            raise PortInUseError(port, variable)
        seen[port] = variable
        if not port_is_free(port, host if host not in {"0.0.0.0", "::"} else "0.0.0.0"):
            raise PortInUseError(port, variable)


def admin_database_url(admin_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return (
        make_url(admin_url)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


def child_command(spec: ServiceSpec) -> list[str]:
    """``python -m daybook_deploy.child``: import the service's code now, run it on "go"."""
    return [sys.executable, "-m", "daybook_deploy.child", spec.preload or spec.module, spec.entry, *spec.args]


def replica_name(name: str, index: int) -> str:
    """``journal``, ``journal-2``, ``journal-3`` …: log prefix and log file of replica ``index``."""
    return name if index == 0 else f"{name}-{index + 1}"


_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[[], None] | None:
    """A pre-exec hook that makes a child get SIGTERM if the launcher dies without cleaning up."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the launcher already died between fork and prctl
            os._exit(1)

    return hook


@dataclass
class Child:
    spec: ServiceSpec
    proc: subprocess.Popen[bytes]
    log_path: Path | None = None
    pump: threading.Thread | None = None
    index: int = 0
    """Which replica of its service (``--scale``), from 0."""
    started: float = field(default_factory=time.monotonic)
    quick_exits: int = 0
    """Exits in a row within :data:`QUICK_EXIT` seconds of a start (what :meth:`Stack.supervise` counts)."""

    @property
    def name(self) -> str:
        return replica_name(self.spec.name, self.index)

    def exit_code(self) -> int | None:
        return exit_status(self.proc)

    def tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


_COLOURS = ("36", "33", "35", "32", "34", "31")

QUICK_EXIT = 30.0
"""A process that exits within this many seconds of its start exited quickly (see :meth:`Stack.supervise`)."""
RESTART_DELAY = 1.0
RESTART_DELAY_MAX = 30.0
"""The first restart waits :data:`RESTART_DELAY` seconds, each quick exit in a row doubles it, up to this."""


class GaveUp(StackError):
    """A process exited quickly too many times in a row: ``daybook up`` stops everything."""


Server = EmbeddedPostgres | EmbeddedNats | EmbeddedPgBouncer


@dataclass
class _ServerRun:
    """What :meth:`Stack.supervise` knows of one embedded server (PostgreSQL, NATS, PgBouncer)."""

    label: str
    server: Server
    started: float
    quick_exits: int = 0
    restart_at: float | None = None
    """It exited: started again at this time (``time.monotonic()``)."""
    starting: concurrent.futures.Future[None] | None = None
    """Its ``start()`` running in a thread of its own (supervision goes on meanwhile)."""


class _Prefixer:
    """Copies a child's output to our stdout, each line prefixed with the process name."""

    def __init__(self, out: IO[str], width: int) -> None:
        self.out = out
        self.width = width
        self.lock = threading.Lock()
        self.colour = out.isatty() and not os.environ.get("NO_COLOR")

    def start(self, name: str, index: int, stream: IO[bytes]) -> threading.Thread:
        label = f"{name:<{self.width}} |"
        if self.colour:
            label = f"\x1b[{_COLOURS[index % len(_COLOURS)]}m{label}\x1b[0m"

        def pump() -> None:
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\n")
                with self.lock:
                    try:
                        self.out.write(f"{label} {line}\n")
                        self.out.flush()
                    except (ValueError, OSError):  # our stdout closed while shutting down
                        pass
            stream.close()

        thread = threading.Thread(target=pump, name=f"daybook-log-{name}", daemon=True)
        thread.start()
        return thread


@dataclass
class Stack:
    """Start and stop PostgreSQL, NATS, and every Daybook process, like ``daybook up``."""

    config: StackConfig
    report: Reporter = field(default=lambda message: None)
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    children: list[Child] = field(default_factory=list, init=False)
    skipped: list[str] = field(default_factory=list, init=False)
    selected: tuple[ServiceSpec, ...] = field(default=SERVICES, init=False)
    timings: dict[str, float] = field(default_factory=dict, init=False)
    postgres: EmbeddedPostgres | None = field(default=None, init=False)
    nats: EmbeddedNats | None = field(default=None, init=False)
    pgbouncer: EmbeddedPgBouncer | None = field(default=None, init=False)
    admin_url: str | None = field(default=None, init=False)
    nats_url: str | None = field(default=None, init=False)
    _lock: IO[bytes] | None = field(default=None, init=False, repr=False)
    web_dir: Path | None = field(default=None, init=False)
    web_build: WebBuild | None = field(default=None, init=False)
    _prefixer: _Prefixer | None = field(default=None, init=False, repr=False)
    _hook: Callable[[], None] | None = field(default=None, init=False, repr=False)
    _started_at: float = field(default_factory=time.monotonic, init=False, repr=False)

    # --- where things are ------------------------------------------------------------------
    @property
    def gateway_url(self) -> str:
        return self.config.gateway_url

    @property
    def service_urls(self) -> dict[str, str]:
        return {spec.name: self.config.url_for(spec.name) for spec in HTTP_SERVICES}

    def roles(self) -> list[ServiceRole]:
        from daybook_devtools.provision import ServiceRole  # SQLAlchemy: not needed to check ports

        return [ServiceRole(schema=s, role=s, password=self.config.role_password(s)) for s in SCHEMAS]

    @property
    def database_server_url(self) -> str:
        """The admin URL, or (before the embedded server made its password) its host and port."""
        cfg = self.config
        return cfg.database_url or self.admin_url or f"postgresql://postgres@127.0.0.1:{cfg.pg_port}/postgres"

    @property
    def planned_nats_url(self) -> str:
        return self.config.nats_url or f"nats://127.0.0.1:{self.config.nats_port}"

    def endpoints(self) -> Endpoints:
        from daybook_devtools.provision import role_url

        server, database = self.database_server_url, self.config.database
        pooled: dict[str, str] | None = None
        if self.config.pgbouncer:
            pooler = f"postgresql://pgbouncer@127.0.0.1:{self.config.pgbouncer_port}/{database}"
            pooled = {r.schema: role_url(pooler, database, r) for r in self.roles()}
        return Endpoints(
            host=self.config.host,
            service_urls=self.service_urls,
            ports=self.config.ports,
            database_urls={r.schema: role_url(server, database, r) for r in self.roles()},
            pooled_database_urls=pooled,
            nats_url=self.planned_nats_url,
            signing_key_file=str(self.config.signing_key_file),
            mail_dir=str(self.config.mail_dir),
        )

    def child_url(self, child: Child) -> str:
        if child.spec.name == "gateway":
            return self.config.gateway_replica_url(child.index)
        return self.config.url_for(child.spec.name, index=child.index)

    def child_env(self, spec: ServiceSpec, index: int = 0) -> dict[str, str]:
        cfg = self.config
        env = {**os.environ, **cfg.extra_env}
        env.update(service_env(spec, self.endpoints()))
        if spec.port is not None:
            env[spec.port_variable] = str(cfg.port_of(spec.name, index))
        if spec.metrics_port is not None:
            env[spec.metrics_port_variable] = str(cfg.port_of(spec.metrics_key, index))
        for upstream in spec.upstreams:  # every replica, comma-separated (the gateway balances them)
            env[f"{spec.prefix}_{upstream.upper()}_URL"] = ",".join(cfg.replica_urls(upstream))
        if spec.name == "gateway":
            env["GATEWAY_HOST"] = cfg.gateway_host
            # The keys from any users replica (the gateway asks them in turn until one answers).
            env["GATEWAY_JWKS_URL"] = ",".join(url + JWKS_PATH for url in cfg.replica_urls("users"))
            if self.web_dir is not None:
                env["GATEWAY_WEB_DIR"] = str(self.web_dir)
        env.setdefault("PYTHONUNBUFFERED", "1")
        # Five processes import the same libraries: without cached bytecode each start compiles
        # them all again (3-4x slower), so the launcher's children always write it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    # --- start -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start PostgreSQL, NATS, the migrations and the processes; :meth:`wait_ready` finishes the job.

        Processes that depend on others (the gateway) are started by :meth:`wait_ready` once
        those answer ``/ready``; ``with Stack(config) as stack:`` does both.
        """
        cfg = self.config
        self._started_at = time.monotonic()
        try:
            self.selected = selection(cfg.services)
        except KeyError as exc:
            raise StackError(str(exc.args[0])) from None
        if cfg.data_dir.exists():  # before the ports: a launcher on this data dir holds them
            self._lock_data_dir()
            self._stop_leftovers()
        check_ports(cfg)
        for spec in self.selected:
            if not spec.available():
                if spec.optional:
                    self.skipped.append(spec.name)
                    self.report(f"warning: {spec.module} does not exist yet; not starting {spec.name}")
                else:
                    raise StackError(f"{spec.module} is not installed; cannot start {spec.name}")
        cfg.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_data_dir()
        try:
            if cfg.web and GATEWAY in self.selected:
                log_dir = cfg.log_dir or cfg.data_dir
                self.web_dir, self.web_build = webapp.prepare(
                    webapp.SOURCE_DIR, log_dir / "web-build.log", self.report
                )
            # Children import their code (seconds of CPU each) while PostgreSQL, NATS and the
            # migrations get ready; they start serving only when released.
            self._spawn_all()
            self._start_servers()
            self._release_ready()
        except BaseException:
            self.stop()
            raise

    def _lock_data_dir(self) -> None:
        """One launcher per data dir: a second one would stop the first one's servers as leftovers."""
        if self._lock is not None:
            return
        lock = open(self.config.data_dir / "launcher.lock", "a+b")  # noqa: SIM115 - held until stop()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise StackError(f"another daybook up already runs on {self.config.data_dir}") from None
        self._lock = lock

    def _stop_leftovers(self) -> None:
        """Our PostgreSQL/NATS still running without a launcher (restarted from outside, or the last
        launcher was killed): found by the data dir, stopped, so their ports are free to start again."""
        cfg = self.config
        servers: list[EmbeddedPostgres | EmbeddedNats] = []
        if cfg.embedded_pg:
            servers.append(EmbeddedPostgres(cfg.pg_data_dir, cfg.pg_port))
        if cfg.embedded_nats:
            servers.append(EmbeddedNats(cfg.nats_store_dir, cfg.nats_port))
        for server in servers:
            pid = server.running_pid()
            if pid is not None:
                self.report(
                    f"stopping the {type(server).__name__[8:]} left running in {cfg.data_dir} (pid {pid})"
                )
                server.stop_leftover()

    def _timed(self, key: str, fn: Callable[[], T]) -> T:
        began = time.monotonic()
        try:
            return fn()
        finally:
            self.timings[key] = time.monotonic() - began

    def _start_servers(self) -> None:
        """NATS (then the stream) beside PostgreSQL (then provisioning and the migrations).

        The two chains share nothing, and each mostly waits for a server or imports its client
        libraries, so the second overlaps the first instead of following it (issue 23, case 15).
        A failure of either is raised once both ended; :meth:`start` then stops what did start."""
        if self.config.embedded_pg and not self.config.pg_fsync:
            os.environ.setdefault(
                "DAYBOOK_PG_FSYNC_OFF", "1"
            )  # EmbeddedPostgres reads it; set before the threads
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="daybook-events") as pool:
            events = pool.submit(self._start_events)
            try:
                self._start_postgres()
                self._prepare_database()
            finally:
                events_failed = events.exception()
        if events_failed is not None:
            raise events_failed

    def _start_events(self) -> None:
        cfg = self.config
        if cfg.embedded_nats:
            self.nats = EmbeddedNats(cfg.nats_store_dir, cfg.nats_port)
            try:
                self._timed("nats", self.nats.start)
            except PortInUseError:
                raise
            except Exception as exc:
                log = cfg.data_dir / "nats.log"
                raise StackError(f"NATS did not start ({exc}); see {log}") from exc
            self.nats_url = self.nats.url
        else:
            self.nats_url = cfg.nats_url
        assert self.nats_url is not None
        nats_url = self.nats_url

        def create_stream() -> None:
            from daybook_common.events.stream import ensure_stream

            run_in_thread(lambda: asyncio.run(ensure_stream(nats_url)))

        try:
            self._timed("stream", create_stream)
        except Exception as exc:
            raise StackError(
                f"NATS at {_redact(nats_url)} is not usable: {exc.__class__.__name__}: {exc}"
            ) from exc

    def _start_postgres(self) -> None:
        cfg = self.config
        if cfg.embedded_pg:
            self.postgres = EmbeddedPostgres(cfg.pg_data_dir, cfg.pg_port)
            first = not (cfg.pg_data_dir / "PG_VERSION").exists()
            self.report("initialising PostgreSQL (first run)…" if first else "starting PostgreSQL…")
            try:
                self._timed("postgres", self.postgres.start)
            except subprocess.CalledProcessError as exc:  # initdb: its own words say why
                said = (exc.stderr or b"").decode(errors="replace").strip()[-2000:]
                raise StackError(f"initialising PostgreSQL in {cfg.pg_data_dir} failed:\n{said}") from exc
            except PortInUseError:
                raise
            except Exception as exc:  # its message carries the server log's tail
                raise StackError(str(exc)) from exc
            self.admin_url = self.postgres.admin_url()
        else:
            self.admin_url = cfg.database_url

    def _prepare_database(self) -> None:
        began = time.monotonic()
        from daybook_common.revisions import behind
        from daybook_devtools.provision import provision, role_url

        self.timings["load"] = time.monotonic() - began
        assert self.admin_url is not None
        admin, cfg, roles = self.admin_url, self.config, self.roles()
        try:
            self._timed(
                "provision", lambda: run_in_thread(lambda: asyncio.run(provision(admin, cfg.database, roles)))
            )
        except Exception as exc:
            raise StackError(f"provisioning the database failed: {exc.__class__.__name__}: {exc}") from exc
        by_schema = {r.schema: r for r in roles}
        began = time.monotonic()
        # A warm data dir is at every head: one query per version table says so, and Alembic
        # (with the SQLAlchemy it imports) is not loaded at all (issue 23, case 15).
        histories = {spec.schema: script_location(spec) for spec in MIGRATING if spec.schema}
        dsn = admin_database_url(admin, cfg.database)
        try:
            pending = run_in_thread(lambda: asyncio.run(behind(dsn, histories)))
        except Exception as exc:
            raise StackError(f"reading the migration state failed: {exc.__class__.__name__}: {exc}") from exc
        for spec in MIGRATING:
            if spec.schema is None or spec.schema not in pending:
                continue
            from daybook_common.migrations import upgrade  # Alembic + SQLAlchemy: only when needed

            url = role_url(admin, cfg.database, by_schema[spec.schema])
            try:
                run_in_thread(upgrade, histories[spec.schema], url, spec.schema)
            except Exception as exc:
                raise StackError(f"{spec.name} migrations failed: {exc.__class__.__name__}: {exc}") from exc
        self.timings["migrate"] = time.monotonic() - began
        if cfg.pgbouncer:
            self._start_pgbouncer(admin, roles)

    def _start_pgbouncer(self, admin: str, roles: list[ServiceRole]) -> None:
        from sqlalchemy.engine import make_url

        server = make_url(admin)
        self.pgbouncer = EmbeddedPgBouncer(
            self.config.data_dir / "pgbouncer",
            self.config.pgbouncer_port,
            server.port or 5432,
            {r.role: r.password for r in roles},
            server_host=server.host or "127.0.0.1",
        )
        try:
            self._timed("pgbouncer", self.pgbouncer.start)
        except (FileNotFoundError, RuntimeError) as exc:
            raise StackError(str(exc)) from exc

    def _spawn_all(self) -> None:
        cfg = self.config
        cfg.signing_key_file.parent.mkdir(parents=True, exist_ok=True)
        cfg.signing_key_file.parent.chmod(0o700)
        if cfg.log_dir is not None:
            cfg.log_dir.mkdir(parents=True, exist_ok=True)
        scaled = any(n > 1 for n in cfg.scale.values())
        self._prefixer = _Prefixer(self.out, max(len(s.name) for s in SERVICES) + (2 if scaled else 0))
        self._hook = _load_prctl()
        began = time.monotonic()
        for spec in SERVICES:
            if spec not in self.selected or spec.name in self.skipped:
                continue
            for replica in range(cfg.replicas(spec.name)):
                self.children.append(self._spawn(spec, replica))
        self.timings["spawn"] = time.monotonic() - began

    def _spawn(self, spec: ServiceSpec, index: int) -> Child:
        cfg = self.config
        name = replica_name(spec.name, index)
        log_path = cfg.log_dir / f"{name}.log" if cfg.log_dir is not None else None
        stdout: Any = open(log_path, "ab") if log_path is not None else subprocess.PIPE  # noqa: SIM115
        try:
            proc = subprocess.Popen(
                child_command(spec),
                env=self.child_env(spec, index),
                stdin=subprocess.PIPE,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=self._hook,  # only prctl: no locks taken after fork
            )
        finally:
            if log_path is not None:
                stdout.close()
        child = Child(spec=spec, proc=proc, log_path=log_path, index=index)
        if proc.stdout is not None and self._prefixer is not None:
            child.pump = self._prefixer.start(name, SERVICES.index(spec), proc.stdout)
        return child

    def _release_ready(self) -> None:
        """Let waiting children start serving once the services they depend on are ready."""
        ready: dict[str, bool] = {}

        def is_ready(name: str) -> bool:  # every replica of it
            if name not in ready:
                ready[name] = all(
                    http_status(url + "/ready", timeout=1.0) == 200 for url in self.config.replica_urls(name)
                )
            return ready[name]

        for child in self.children:
            stdin = child.proc.stdin
            if stdin is None or not all(is_ready(dep) for dep in child.spec.depends_on):
                continue
            with contextlib.suppress(OSError):  # it died while importing: wait_ready reports it
                stdin.write(b"go\n")
                stdin.flush()
            with contextlib.suppress(OSError):
                stdin.close()
            child.proc.stdin = None

    # --- readiness -------------------------------------------------------------------------
    def dead_child(self) -> Child | None:
        for child in self.children:
            if child.exit_code() is not None:
                return child
        return None

    def is_ready(self) -> bool:
        """Every gateway's ``/ready`` is 200 (without the gateway: every started service's)."""
        gateways = [child for child in self.children if child.spec.name == "gateway"]
        return all(
            http_status(self.child_url(child) + "/ready") == 200
            for child in gateways or self.children
            if child.spec.port is not None
        )

    def wait_ready(self, timeout: float | None = None) -> float:
        """Block until :meth:`is_ready`; returns the seconds it took."""
        timeout = self.config.ready_timeout if timeout is None else timeout
        began = time.monotonic()
        deadline = began + timeout
        while True:
            dead = self.dead_child()
            if dead is not None:
                tail = dead.tail()
                raise StackError(
                    f"{dead.name} exited with code {dead.exit_code()} while starting"
                    + (f"; last lines of {dead.log_path}:\n{tail}" if tail else " (see its output above)")
                )
            self._release_ready()
            if self.is_ready():
                self.timings["ready"] = time.monotonic() - began
                return self.timings["ready"]
            if time.monotonic() > deadline:
                raise StackError(f"not ready after {timeout:.0f}s: " + "; ".join(self.not_ready()))
            time.sleep(0.1)

    def not_ready(self) -> list[str]:
        """One phrase per part that is not ready (for the timeout message)."""
        problems: list[str] = []
        for child in self.children:
            if child.exit_code() is not None:
                problems.append(f"{child.name} exited with code {child.exit_code()}")
                continue
            if child.proc.stdin is not None:
                waiting = ", ".join(child.spec.depends_on)
                problems.append(f"{child.name} not started (waits for {waiting})")
                continue
            if child.spec.port is None:
                continue
            url = self.child_url(child)
            status, body = http_get(url + "/ready")
            if status is None:
                problems.append(f"{child.name} does not answer on {url}")
            elif status != 200:
                problems.append(f"{child.name} /ready is {status}: {_summary(body)}")
        return problems or ["the gateway's /ready is not 200 yet"]

    def supervise(self, poll: float = 0.25) -> None:
        """Keep every process running (``daybook up`` after ready); returns only by raising.

        A process that exits is reaped with whatever is left of its process group, and started
        again (its own replica slot, port and log) after :data:`RESTART_DELAY` seconds, doubled for
        each quick exit in a row (one within :data:`QUICK_EXIT` s of its start) up to
        :data:`RESTART_DELAY_MAX`.  The ``config.restarts``-th quick exit in a row raises
        :class:`GaveUp` (``restarts=0``: the first exit does); the caller stops the stack.
        Meanwhile the gateway answers that upstream's requests 502/503 and its ``/ready`` is 503.
        The embedded PostgreSQL, NATS and PgBouncer the launcher started are kept running the same
        way (:meth:`_restart_servers`), without holding up the watch over the rest.
        """
        pending: dict[int, tuple[float, Child, int]] = {}  # position -> (restart at, the dead, quick exits)
        servers = [
            _ServerRun(label, server, self._started_at)
            for label, server in (
                ("PostgreSQL", self.postgres),
                ("NATS", self.nats),
                ("PgBouncer", self.pgbouncer),
            )
            if server is not None
        ]
        # Leaving the block waits for a start in progress: stop() never races one.
        with concurrent.futures.ThreadPoolExecutor(
            max(1, len(servers)), thread_name_prefix="daybook-restart"
        ) as starts:
            while True:
                self._restart_servers(servers, starts)
                self._restart_children(pending)
                self._release_ready()
                time.sleep(poll)

    def _restart_children(self, pending: dict[int, tuple[float, Child, int]]) -> None:
        """One pass of :meth:`supervise` over the children: reap the dead, start the due."""
        now = time.monotonic()
        for position, child in enumerate(self.children):
            code = child.exit_code()
            if position in pending or code is None:
                continue
            quick = child.quick_exits + 1 if now - child.started < QUICK_EXIT else 0
            stop_group(child.proc, self.config.stop_timeout)  # reap it, and any worker it left
            if child.pump is not None:
                child.pump.join(timeout=2)
            if self.config.restarts == 0 or quick >= self.config.restarts:
                tail = child.tail()
                raise GaveUp(
                    f"{child.name} exited with code {code}"
                    + (
                        f", {quick} times in a row within {QUICK_EXIT:.0f}s of starting; giving up"
                        if self.config.restarts
                        else " (DAYBOOK_RESTARTS=0)"
                    )
                    + "; stopping everything"
                    + (f"; last lines of {child.log_path}:\n{tail}" if tail else "")
                )
            delay = min(RESTART_DELAY_MAX, RESTART_DELAY * 2**quick)
            self.report(
                f"{child.name} (pid {child.proc.pid}) exited with code {code}; restarting it in {delay:.0f}s"
                + (f" (quick exit {quick} of {self.config.restarts})" if quick else "")
            )
            pending[position] = (now + delay, child, quick)
        for position, (when, dead, quick) in list(pending.items()):
            if now < when:
                continue
            del pending[position]
            child = self._spawn(dead.spec, dead.index)
            child.quick_exits = quick
            self.children[position] = child
            self.report(f"{child.name} restarted (pid {child.proc.pid})")

    def _restart_servers(self, runs: list[_ServerRun], starts: concurrent.futures.Executor) -> None:
        """An embedded server exited (killed, crashed): reap it, start it again on its data after the
        same pause as a process (PostgreSQL recovers; the services' pools and NATS clients
        reconnect), counted like a process's quick exits.

        Its ``start()`` (seconds: PostgreSQL waits for the killed server's backends to go, then for
        its recovery) runs in ``starts``, and the pause is a time to start at, not a sleep: the
        children and the other servers are watched meanwhile, a second exit is noticed within a
        poll, not after the restart."""
        limit = self.config.restarts
        for run in runs:
            server = run.server
            if run.starting is not None:
                if not run.starting.done():
                    continue
                failed, run.starting = run.starting.exception(), None
                if failed is not None:
                    raise GaveUp(
                        f"{run.label} did not start again: {failed}; stopping everything"
                    ) from failed
                run.started = time.monotonic()
                assert server.proc is not None
                self.report(f"{run.label} restarted (pid {server.proc.pid})")
                continue
            now = time.monotonic()
            if run.restart_at is not None:
                if now >= run.restart_at:
                    run.restart_at = None
                    run.starting = starts.submit(server.start)
                continue
            if server.proc is None:
                continue
            code = server.proc.poll()  # reaps it: no zombie keeps its pid (or postmaster.pid) alive
            if code is None:
                continue
            quick = run.quick_exits + 1 if now - run.started < QUICK_EXIT else 0
            pid = server.proc.pid
            if limit == 0 or quick >= limit:
                raise GaveUp(
                    f"{run.label} (pid {pid}) exited with code {code}"
                    + (f", {quick} times in a row within {QUICK_EXIT:.0f}s; giving up" if limit else "")
                    + "; stopping everything"
                )
            delay = min(RESTART_DELAY_MAX, RESTART_DELAY * 2**quick)
            self.report(f"{run.label} (pid {pid}) exited with code {code}; restarting it in {delay:.0f}s")
            run.quick_exits, run.restart_at = quick, now + delay

    # --- stop ------------------------------------------------------------------------------
    def pids(self) -> list[int]:
        """Process ids of every child and of PostgreSQL/NATS (their process group leaders)."""
        found = [c.proc.pid for c in self.children if c.exit_code() is None]
        for server in (self.nats, self.postgres):
            if server is not None and server.proc is not None and server.proc.poll() is None:
                found.append(server.proc.pid)
        return found

    def stop(self) -> None:
        """Stop children in reverse order (SIGTERM to the group, then SIGKILL), then NATS and PostgreSQL."""
        if self.web_build is not None:
            self.web_build.stop()
            self.web_build = None
        for child in reversed(self.children):
            stop_group(child.proc, self.config.stop_timeout)
            if child.pump is not None:
                child.pump.join(timeout=2)
        self.children.clear()
        if self.pgbouncer is not None:
            self.pgbouncer.stop()
            self.pgbouncer = None
        if self.nats is not None:
            self.nats.stop()
            self.nats = None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    def __enter__(self) -> Stack:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def exit_status(proc: subprocess.Popen[bytes]) -> int | None:
    """The exit code if the process ended (negative: killed by that signal), without reaping it.

    An unreaped child keeps its pid, and so its process group id, reserved: :func:`stop_group`
    can then signal the group without any risk of hitting an unrelated group that got the number.
    """
    if proc.returncode is not None:
        return proc.returncode
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return proc.poll()
    if info is None:
        return None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while exit_status(proc) is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_group(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the child's whole process group, wait, SIGKILL it if need be, then reap the child."""
    if proc.returncode is not None:
        return  # reaped already: its group id may belong to someone else by now
    pgid = proc.pid  # start_new_session: the child leads its own group
    if exit_status(proc) is None:
        _killpg(pgid, signal.SIGTERM)
        if not _wait_exit(proc, timeout):
            _killpg(pgid, signal.SIGKILL)
            _wait_exit(proc, 5)
    # The leader is gone but not reaped, so the group id is still ours: nothing of it may stay
    # (a worker the leader did not take down with it).
    _killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def http_get(url: str, timeout: float = 2.0) -> tuple[int | None, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own http URL
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, ValueError):
        return None, b""


def http_status(url: str, timeout: float = 2.0) -> int | None:
    return http_get(url, timeout)[0]


def _summary(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace")
    if isinstance(data, dict):
        for key in ("checks", "upstreams", "detail"):
            if key in data:
                return json.dumps(data[key], sort_keys=True)[:300]
    return json.dumps(data)[:300]


def _redact(url: str) -> str:
    """A URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def embedded_admin_url(config: StackConfig) -> str | None:
    """The embedded server's superuser URL if its password file exists (for status/migrate)."""
    server = EmbeddedPostgres(config.pg_data_dir, config.pg_port)
    if not server.password_file.exists():
        return None
    password = quote(server.password_file.read_text().strip(), safe="")
    return f"postgresql://postgres:{password}@127.0.0.1:{config.pg_port}/postgres"


def describe_urls(stack: Stack) -> Iterable[tuple[str, str]]:
    gateways = [child for child in stack.children if child.spec.name == "gateway"]
    for child in gateways:
        yield child.name, stack.child_url(child)
    if gateways:
        yield "API docs", stack.gateway_url + "/docs"
        yield "OpenAPI", stack.gateway_url + "/api/v1/openapi.json"
    for spec in HTTP_SERVICES:
        for child in stack.children:
            if child.spec is spec and spec.name != "gateway":
                yield child.name, stack.child_url(child)
