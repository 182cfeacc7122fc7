"""Settings of the launcher itself, read from the environment when a command runs."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from daybook_deploy.services import (
    BY_NAME,
    DATABASE,
    HTTP_SERVICES,
    METRICS_LISTENERS,
    SCHEMAS,
    SERVICES,
    default_ports,
)

DEFAULT_DATA_DIR = ".daybook"
REPLICA_PORT_STEP = 10
"""Replica ``i`` (from 0) of a service listens on its port + 10·i: journal 8002, 8012, 8022 …
(the default ports are consecutive themselves, so consecutive replica ports would collide)."""
MAX_REPLICAS = 9
DEFAULT_PG_PORT = 15432
DEFAULT_NATS_PORT = 14222
DEFAULT_PGBOUNCER_PORT = 16432
SIGNING_KEY_NAME = "users-signing-key.pem"


class ConfigError(ValueError):
    """A launcher variable is set to a value that cannot be used."""


def parse_scale(text: str, source: str = "--scale") -> dict[str, int]:
    """``journal=2,reminders=2,gateway=2`` → ``{"journal": 2, …}`` (processes per name, 1 to 9)."""
    scale: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, count = item.partition("=")
        name = name.strip()
        if not sep or name not in BY_NAME:
            raise ConfigError(f"{source}: {item!r} is not NAME=COUNT with NAME one of {', '.join(BY_NAME)}")
        try:
            replicas = int(count)
        except ValueError:
            raise ConfigError(f"{source}: the count of {name} must be a number, got {count!r}") from None
        if not 1 <= replicas <= MAX_REPLICAS:
            raise ConfigError(f"{source}: {name} may run 1 to {MAX_REPLICAS} times, got {replicas}")
        scale[name] = replicas
    return scale


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name) or ""
    if not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a port number, got {raw!r}") from None
    if not 0 < value < 65536:
        raise ConfigError(f"{name} must be a port number between 1 and 65535, got {value}")
    return value


@dataclass
class StackConfig:
    """Everything ``daybook up`` needs; :meth:`from_env` is what the CLI uses."""

    data_dir: Path
    database_url: str | None = None
    """Superuser (admin) URL of an existing PostgreSQL; ``None`` starts the embedded one."""
    nats_url: str | None = None
    """URL of an existing NATS with JetStream; ``None`` starts the embedded one."""
    pg_port: int = DEFAULT_PG_PORT
    nats_port: int = DEFAULT_NATS_PORT
    ports: dict[str, int] = field(default_factory=default_ports)
    """By service name, and the metrics listeners by ``metrics_key``; a listener missing here gets a free port."""
    host: str = "127.0.0.1"
    """Address the services bind to (the gateway may differ: ``gateway_host``)."""
    gateway_host: str = "127.0.0.1"
    database: str = DATABASE
    passwords: dict[str, str] = field(default_factory=dict)
    """Role passwords by schema; missing ones come from the data dir (made once)."""
    ready_timeout: float = 60.0
    stop_timeout: float = 10.0
    log_dir: Path | None = None
    """Write each process's output to ``<log_dir>/<name>.log`` instead of prefixed lines on stdout."""
    pg_fsync: bool = True
    """``False`` runs the embedded PostgreSQL with ``fsync=off`` (tests, benchmarks)."""
    services: tuple[str, ...] = ()
    """Start only these processes (and what they depend on); empty: all of them."""
    extra_env: dict[str, str] = field(default_factory=dict)
    """Added to every child's environment (after the inherited one, before the launcher's own)."""
    pgbouncer: bool = False
    """Services reach PostgreSQL through a PgBouncer in transaction mode (``--pgbouncer``)."""
    pgbouncer_port: int = DEFAULT_PGBOUNCER_PORT
    scale: dict[str, int] = field(default_factory=dict)
    """Processes per name (``--scale journal=2`` / ``DAYBOOK_SCALE``); absent names run once."""
    restarts: int = 5
    """``daybook up`` restarts a process that exits; after this many quick exits in a row it gives
    up and stops everything (``0``: stop everything on the first exit)."""
    web: bool = False
    """Serve the web app (``web/dist``) at ``/``, building it beside start-up when missing or stale."""

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).absolute()
        missing = [s.metrics_key for s in METRICS_LISTENERS if s.metrics_key not in self.ports]
        if missing:  # callers that pick free ports for the services (tests, bench) get them here too
            from daybook_devtools.embedded import free_port

            self.ports = {**self.ports, **{key: free_port() for key in missing}}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        env = os.environ if environ is None else environ
        ports = {s.name: _int(env, s.port_variable, s.port) for s in HTTP_SERVICES if s.port}
        for spec in METRICS_LISTENERS:
            assert spec.metrics_port is not None
            ports[spec.metrics_key] = _int(env, spec.metrics_port_variable, spec.metrics_port)
        passwords = {
            schema: env[f"DAYBOOK_{schema.upper()}_DB_PASSWORD"]
            for schema in SCHEMAS
            if env.get(f"DAYBOOK_{schema.upper()}_DB_PASSWORD")
        }
        try:
            ready_timeout = float(env.get("DAYBOOK_READY_TIMEOUT") or 60)
        except ValueError:
            raise ConfigError("DAYBOOK_READY_TIMEOUT must be a number of seconds") from None
        raw_restarts = (env.get("DAYBOOK_RESTARTS") or "5").strip()
        if not raw_restarts.isdigit():
            raise ConfigError(
                f"DAYBOOK_RESTARTS must be a whole number (0: never restart), got {raw_restarts!r}"
            )
        return cls(
            data_dir=Path(env.get("DAYBOOK_DATA_DIR") or DEFAULT_DATA_DIR),
            database_url=env.get("DATABASE_URL") or None,
            nats_url=env.get("NATS_URL") or None,
            pg_port=_int(env, "DAYBOOK_PG_PORT", DEFAULT_PG_PORT),
            nats_port=_int(env, "DAYBOOK_NATS_PORT", DEFAULT_NATS_PORT),
            ports=ports,
            gateway_host=env.get("GATEWAY_HOST") or "127.0.0.1",
            passwords=passwords,
            ready_timeout=ready_timeout,
            restarts=int(raw_restarts),
            scale=parse_scale(env.get("DAYBOOK_SCALE") or "", "DAYBOOK_SCALE"),
            web=(env.get("DAYBOOK_WEB") or "on").strip().lower() not in {"off", "0", "false", "no"},
            pgbouncer=bool(env.get("DAYBOOK_PGBOUNCER")),
            pgbouncer_port=_int(env, "DAYBOOK_PGBOUNCER_PORT", DEFAULT_PGBOUNCER_PORT),
        )

    # --- places in the data dir -------------------------------------------------------------
    @property
    def mail_dir(self) -> Path:
        """Where the users service writes each email as an ``.eml`` file (no SMTP configured)."""
        return self.data_dir / "mail"

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def nats_store_dir(self) -> Path:
        return self.data_dir / "nats"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def signing_key_file(self) -> Path:
        return self.data_dir / "keys" / SIGNING_KEY_NAME

    @property
    def embedded_pg(self) -> bool:
        return self.database_url is None

    @property
    def embedded_nats(self) -> bool:
        return self.nats_url is None

    def replicas(self, name: str) -> int:
        return self.scale.get(name, 1)

    def port_of(self, name: str, index: int = 0) -> int:
        """The port of replica ``index`` (from 0) of an HTTP service or metrics listener (``metrics_key``)."""
        return self.ports[name] + REPLICA_PORT_STEP * index

    def url_for(self, name: str, host: str | None = None, index: int = 0) -> str:
        return f"http://{host or self.host}:{self.port_of(name, index)}"

    def metrics_urls(self) -> dict[str, str]:
        """Every process's ``/metrics`` by process name (``journal-2`` for a second replica): the
        services on their own port, the gateway and the scheduler on their listener (loopback)."""
        urls: dict[str, str] = {}
        for spec in SERVICES:
            key = spec.metrics_key if spec.metrics_port is not None else spec.name if spec.port else None
            if key is None:
                continue
            for index in range(self.replicas(spec.name)):
                name = spec.name if index == 0 else f"{spec.name}-{index + 1}"
                urls[name] = f"http://127.0.0.1:{self.port_of(key, index)}/metrics"
        return urls

    def replica_urls(self, name: str) -> list[str]:
        return [self.url_for(name, index=i) for i in range(self.replicas(name))]

    @property
    def gateway_url(self) -> str:
        return self.gateway_replica_url(0)

    def gateway_replica_url(self, index: int) -> str:
        host = self.gateway_host if self.gateway_host not in {"0.0.0.0", "::"} else "127.0.0.1"
        return f"http://{host}:{self.port_of('gateway', index)}"

    def role_password(self, schema: str) -> str:
        """The schema role's password: given, else stored in the data dir, else made and stored (0600)."""
        if schema in self.passwords:
            return self.passwords[schema]
        path = self.secrets_dir / f"{schema}-db-password"
        if not path.exists():
            self.secrets_dir.mkdir(parents=True, exist_ok=True)
            self.secrets_dir.chmod(0o700)
            password = secrets.token_urlsafe(32)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return path.read_text().strip()
            with os.fdopen(fd, "w") as handle:
                handle.write(password + "\n")
        return path.read_text().strip()

    def stored_role_password(self, schema: str) -> str | None:
        """Like :meth:`role_password` but never creates one (for status and forwarded commands)."""
        if schema in self.passwords:
            return self.passwords[schema]
        path = self.secrets_dir / f"{schema}-db-password"
        return path.read_text().strip() if path.exists() else None
