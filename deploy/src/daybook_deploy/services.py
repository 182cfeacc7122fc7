"""The one table of Daybook's processes.

The launcher (``daybook up``), ``daybook status``/``migrate`` and the compose/launcher
agreement test all read :data:`SERVICES`, so a service, port or variable added here
shows up everywhere (and the test fails until ``compose.yaml`` follows).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JWKS_PATH = "/api/v1/auth/jwks"
DATABASE = "daybook"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    """Process name: compose service name and log prefix (``reminders-scheduler``)."""
    package: str
    """Import package (``daybook_reminders``)."""
    prefix: str
    """Environment variable prefix without the underscore (``REMINDERS``)."""
    script: str
    """Console script that runs it (``daybook-reminders``)."""
    args: tuple[str, ...] = ()
    module: str = ""
    """Module with ``main(argv=None)``; it must be importable for the process to exist."""
    preload: str = ""
    """Module(s) the launcher's child imports before the stack is ready (the slow part of a start)."""
    port: int | None = None
    """Default HTTP port; ``None`` for workers without one."""
    schema: str | None = None
    """Database schema (= role) the process uses, if any."""
    migrates: bool = False
    """Owns an Alembic history (``<package>.SCRIPT_LOCATION``)."""
    nats: bool = False
    jwks: bool = False
    upstreams: tuple[str, ...] = ()
    """Services this one reaches over HTTP (``<PREFIX>_<UPSTREAM>_URL``)."""
    extra_env: tuple[str, ...] = ()
    optional: bool = False
    """Skipped with a warning when its module does not exist yet."""
    depends_on: tuple[str, ...] = ()
    """HTTP services whose ``/ready`` must be 200 before this one starts (compose: service_healthy)."""
    metrics_port: int | None = None
    """Default port of a listener of its own for ``/metrics`` (and ``/health``), apart from ``port``."""
    metrics_prefix: str = ""
    """Variable prefix of that listener (``GATEWAY_ADMIN``: ``GATEWAY_ADMIN_HOST``/``_PORT``)."""

    @property
    def entry(self) -> str:
        return f"{self.module}:main"

    @property
    def port_variable(self) -> str:
        return f"{self.prefix}_PORT"

    @property
    def metrics_key(self) -> str:
        """Its key in the ports mapping (``gateway-admin``)."""
        return self.metrics_prefix.lower().replace("_", "-")

    @property
    def metrics_port_variable(self) -> str:
        return f"{self.metrics_prefix}_PORT"

    def available(self) -> bool:
        try:
            return importlib.util.find_spec(self.module or self.package) is not None
        except ModuleNotFoundError:
            return False

    def env_names(self) -> list[str]:
        """Names of the variables the launcher (and compose) set for this process."""
        return sorted(service_env(self, _PLACEHOLDERS).keys())


@dataclass(frozen=True)
class Endpoints:
    """Where things are, as seen from the process being configured."""

    host: str
    """Address HTTP services bind to."""
    service_urls: Mapping[str, str]
    """Base URL of every HTTP service by name (``http://127.0.0.1:8001``)."""
    ports: Mapping[str, int]
    database_urls: Mapping[str, str]
    """Each schema's own role URL."""
    nats_url: str
    signing_key_file: str
    pooled_database_urls: Mapping[str, str] | None = None
    """Each role's URL through PgBouncer (``daybook up --pgbouncer``); the direct ones stay for
    what needs a session (``<P>_DIRECT_DATABASE_URL``)."""
    mail_dir: str = "/var/lib/daybook/mail"


def service_env(spec: ServiceSpec, at: Endpoints) -> dict[str, str]:
    """The environment one process needs; the single place these names are decided."""
    p = spec.prefix
    env: dict[str, str] = {}
    if spec.port is not None:
        env[f"{p}_HOST"] = at.host
        env[f"{p}_PORT"] = str(at.ports[spec.name])
    if spec.schema is not None:
        env[f"{p}_DATABASE_URL"] = at.database_urls[spec.schema]
        if at.pooled_database_urls is not None:
            env[f"{p}_DATABASE_URL"] = at.pooled_database_urls[spec.schema]
            env[f"{p}_DIRECT_DATABASE_URL"] = at.database_urls[spec.schema]
    if spec.nats:
        env[f"{p}_NATS_URL"] = at.nats_url
    if spec.jwks:
        env[f"{p}_JWKS_URL"] = at.service_urls["users"] + JWKS_PATH
    for upstream in spec.upstreams:
        env[f"{p}_{upstream.upper()}_URL"] = at.service_urls[upstream]
    if spec.metrics_port is not None:
        env[f"{spec.metrics_prefix}_HOST"] = at.host
        env[spec.metrics_port_variable] = str(at.ports[spec.metrics_key])
    if "USERS_SIGNING_KEY_FILE" in spec.extra_env:
        env["USERS_SIGNING_KEY_FILE"] = at.signing_key_file
    if "USERS_MAIL_DIR" in spec.extra_env:
        env["USERS_MAIL_DIR"] = at.mail_dir
    if "USERS_PUBLIC_URL" in spec.extra_env:  # the links in emails lead to the gateway's web app
        env["USERS_PUBLIC_URL"] = at.service_urls.get("gateway") or f"http://127.0.0.1:{at.ports['gateway']}"
    return env


def _domain_service(name: str, port: int, **more: Any) -> ServiceSpec:
    """A domain API laid out as users, journal and reminders are: package ``daybook_<name>``,
    ``<NAME>_`` variables, ``daybook-<name> serve``, its own schema and migrations, NATS, JWKS."""
    package = f"daybook_{name}"
    return ServiceSpec(
        name=name,
        package=package,
        prefix=name.upper(),
        script=f"daybook-{name}",
        args=("serve",),
        module=f"{package}.cli",
        preload=f"{package}.app",
        port=port,
        schema=name,
        migrates=True,
        nats=True,
        jwks=True,
        **more,
    )


SERVICES: tuple[ServiceSpec, ...] = (
    _domain_service(
        "users", 8001, extra_env=("USERS_SIGNING_KEY_FILE", "USERS_MAIL_DIR", "USERS_PUBLIC_URL")
    ),
    _domain_service("journal", 8002),
    _domain_service("reminders", 8003),
    ServiceSpec(
        name="reminders-scheduler",
        package="daybook_reminders",
        prefix="REMINDERS",
        script="daybook-reminders-scheduler",
        module="daybook_reminders.scheduler",
        preload="daybook_reminders.scheduler",
        schema="reminders",
        optional=True,
        metrics_port=8004,
        metrics_prefix="REMINDERS_SCHEDULER",
    ),
    ServiceSpec(
        name="gateway",
        package="daybook_gateway",
        prefix="GATEWAY",
        script="daybook-gateway",
        args=("serve",),
        module="daybook_gateway.cli",
        preload="daybook_gateway.app",
        port=8000,
        nats=True,  # the rate limits' shared counters
        jwks=True,
        upstreams=("users", "journal", "reminders"),
        depends_on=("users", "journal", "reminders"),
        metrics_port=8009,
        metrics_prefix="GATEWAY_ADMIN",
    ),
)

BY_NAME: dict[str, ServiceSpec] = {s.name: s for s in SERVICES}
HTTP_SERVICES: tuple[ServiceSpec, ...] = tuple(s for s in SERVICES if s.port is not None)
METRICS_LISTENERS: tuple[ServiceSpec, ...] = tuple(s for s in SERVICES if s.metrics_port is not None)
MIGRATING: tuple[ServiceSpec, ...] = tuple(s for s in SERVICES if s.migrates)
SCHEMAS: tuple[str, ...] = tuple(s.schema for s in MIGRATING if s.schema)
GATEWAY = BY_NAME["gateway"]


def selection(names: tuple[str, ...] | list[str] = ()) -> tuple[ServiceSpec, ...]:
    """The named processes and what they depend on, in table order; all of them for no names."""
    if not names:
        return SERVICES
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(f"no such service: {', '.join(unknown)}; choose from {', '.join(BY_NAME)}")
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in wanted:
            wanted.add(name)
            pending.extend(BY_NAME[name].depends_on)
    return tuple(s for s in SERVICES if s.name in wanted)


def default_ports() -> dict[str, int]:
    """Every listening port by key: the HTTP services' by name, the metrics listeners' by ``metrics_key``."""
    return {
        **{s.name: s.port for s in HTTP_SERVICES if s.port is not None},
        **{s.metrics_key: s.metrics_port for s in METRICS_LISTENERS if s.metrics_port is not None},
    }


def script_location(spec: ServiceSpec) -> str:
    module = importlib.import_module(spec.package)
    return str(module.SCRIPT_LOCATION)


_PLACEHOLDERS = Endpoints(
    host="HOST",
    service_urls={s.name: f"http://{s.name}:{s.port}" for s in HTTP_SERVICES},
    ports=default_ports(),
    database_urls={schema: f"postgresql://{schema}@db/{DATABASE}" for schema in SCHEMAS},
    nats_url="nats://nats:4222",
    signing_key_file="/keys/users-signing-key.pem",
)
