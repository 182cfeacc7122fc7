"""The command line every service package ships (``daybook-<svc> serve|migrate|downgrade|…``).

Each service's ``cli.main`` is one call to :func:`service_main`; what differs between services
(port, Alembic history, settings, extra subcommands) comes from the package and the arguments.
"""

from __future__ import annotations

import argparse
import importlib
import os
import ssl
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from daybook_common.db import DatabaseSettings

if TYPE_CHECKING:
    from daybook_common.service import CommonSettings

S = TypeVar("S")


class HasCommonSettings(Protocol):
    @property
    def common(self) -> CommonSettings: ...


def common_database(settings: HasCommonSettings) -> DatabaseSettings:
    """The database a service with the common settings migrates (its own role and schema)."""
    return settings.common.database


def serve(app_factory: str, host: str, port: int, workers: int = 1, threads: int = 1) -> None:
    """Serve ``module:create_app`` with Granian (its factory mode calls create_app per worker).

    One worker (the default) is served in this very process (:func:`serve_in_process`); more are
    forked by Granian's master process, which imports no app itself.  Granian's own log lines are
    JSON in the service's name (``daybook_users.app:…`` is ``users``).  Several workers share their
    metrics through a directory (:func:`daybook_common.metrics.prepare_multiprocess`)."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    from daybook_common.logs import log_dictconfig
    from daybook_common.metrics import forget_multiprocess_dir, prepare_multiprocess

    service = app_factory.split(".", 1)[0].removeprefix("daybook_")
    options: dict[str, Any] = {
        "address": host,
        "port": port,
        "interface": Interfaces.ASGI,
        "runtime_threads": threads,
        "factory": True,
        "log_access": False,
        "log_dictconfig": log_dictconfig(service),
        "backlog": 2048,
        # HTTP/1.1 only: in Granian's "auto" mode a connection that never sends a byte waits for
        # the protocol sniff for ever, holding one of the worker's `backpressure` slots (the
        # backlog, 2048): 2,048 silent sockets took a gateway off the air until they closed. In
        # HTTP/1 mode the header read timeout runs from the connection's start and between
        # keep-alive requests. Nothing speaks HTTP/2 to the services or the gateway.
        "http": HTTPModes.http1,
        "http1_settings": HTTP1Settings(header_read_timeout=header_read_timeout_ms(service)),
        # Open connections per worker (Granian's default is the backlog, 2048): each live
        # notification stream holds one at the gateway and one at reminders, up to
        # GATEWAY_STREAM_MAX_CONNECTIONS (10,000); past it new connections wait in the backlog.
        "backpressure": max_connections(service),
    }
    if workers == 1:
        serve_in_process(app_factory, options)
        return
    from granian.server import Server

    prepare_multiprocess(service, workers)
    # A worker that crashes (killed by the OOM killer, a segfault in a C extension) is started
    # again by Granian's master after respawn_interval (3.5 s); without it one crashed worker
    # stopped all of the service's workers and the master exited.
    options["respawn_failed_workers"] = True
    try:
        Server(app_factory, workers=workers, **options).serve()
    finally:
        forget_multiprocess_dir()


def header_read_timeout_ms(service: str) -> int:
    """``<P>_HEADER_READ_TIMEOUT``: seconds a client has to send a request's head — from the
    connection's start, or from the previous response on a keep-alive connection — before it is
    closed (default 30, Granian's)."""
    return int(float(_env(f"{service.upper()}_HEADER_READ_TIMEOUT", "30")) * 1000)


def max_connections(service: str) -> int:
    """``<P>_MAX_CONNECTIONS`` (default 16,384) open connections per worker, and the process's
    open-file soft limit raised to fit them (up to the hard limit) — a soft limit of 1,024 would
    otherwise refuse connections long before."""
    import resource

    wanted = int(_env(f"{service.upper()}_MAX_CONNECTIONS", "16384"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + 1024  # the database and NATS connections, files, the listener
    if soft != resource.RLIM_INFINITY and soft < need:
        ceiling = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))
    return wanted


def serve_in_process(app_factory: str, options: dict[str, Any]) -> None:
    """One worker: Granian's embedded server (the same Rust HTTP worker) on this process's uvloop.

    A master process of its own would hold a second copy of everything imported (~70 MiB PSS per
    service, measured, issue 23) to serve no request.  SIGINT/SIGTERM stop it gracefully (the ASGI
    lifespan shutdown runs); a worker that fails (its lifespan startup, say) exits 1, as Granian's
    master does."""
    import asyncio
    import signal

    import uvloop
    from granian.server.embed import Server as EmbeddedServer

    module, _, name = app_factory.partition(":")
    server = EmbeddedServer(getattr(importlib.import_module(module), name), **options)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.stop)
        await server.serve()

    uvloop.run(run())
    if server.interrupt_children:
        raise SystemExit(1)


def _env(name: str, default: str) -> str:
    """An unset or empty variable means the default (as :class:`daybook_common.settings.Env` reads them)."""
    return os.environ.get(name) or default


def service_main(
    name: str,
    settings: Callable[[], S],
    argv: Sequence[str] | None = None,
    *,
    database: Callable[[S], DatabaseSettings] | None = None,
    extra: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] | None = None,
) -> None:
    """Parse ``argv`` and run ``daybook-<name>``'s command.

    ``serve`` runs ``daybook_<name>.app:create_served_app`` with Granian on ``<NAME>_HOST`` /
    ``<NAME>_PORT`` (default the package's ``DEFAULT_PORT``) with ``<NAME>_WORKERS`` workers; the
    settings are read first, so a bad value fails here, once, before anything binds (Granian's
    workers read them again in ``create_app``). With ``database`` the service owns an Alembic history
    (the package's ``SCRIPT_LOCATION``) and gets ``migrate`` and ``downgrade``. ``extra`` adds the
    service's own subcommands; each sets a ``handler(args)`` default."""
    package = importlib.import_module(f"daybook_{name}")
    prefix = name.upper()
    parser = argparse.ArgumentParser(prog=f"daybook-{name}", description=f"Daybook {name} service")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="serve the HTTP API with Granian")
    p_serve.add_argument("--host", default=_env(f"{prefix}_HOST", "127.0.0.1"))
    p_serve.add_argument("--port", type=int, default=int(_env(f"{prefix}_PORT", str(package.DEFAULT_PORT))))
    p_serve.add_argument("--workers", type=int, default=int(_env(f"{prefix}_WORKERS", "1")))
    if database is not None:
        p_migrate = sub.add_parser("migrate", help="apply this service's migrations")
        p_migrate.add_argument("revision", nargs="?", default="head")
        p_down = sub.add_parser("downgrade", help="revert this service's migrations")
        p_down.add_argument("revision", nargs="?", default="-1")
    if extra is not None:
        extra(sub)
    args = parser.parse_args(argv)
    if args.command == "serve":
        settings()
        serve(f"daybook_{name}.app:create_served_app", args.host, args.port, args.workers)
    elif args.command in ("migrate", "downgrade") and database is not None:
        # Imported here: Alembic (with Mako and Pygments, ~5 MiB) stays out of every served process.
        from daybook_common.migrations import downgrade, upgrade

        db = database(settings())
        run = upgrade if args.command == "migrate" else downgrade
        try:
            run(package.SCRIPT_LOCATION, db.session_url, db.schema, args.revision)
        except ssl.SSLCertVerificationError as exc:
            raise SystemExit(
                f"daybook-{name}: the PostgreSQL server's certificate was not accepted "
                f"({exc.verify_message}): {prefix}_DATABASE_URL's sslrootcert must name the CA that "
                "signed it (sslmode=verify-full also checks the host name)"
            ) from None
    elif hasattr(args, "handler"):
        args.handler(args)
