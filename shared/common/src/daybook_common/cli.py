"""The small command line every service package ships (``daybook-<svc> serve|migrate``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

from daybook_common.db import DatabaseSettings
from daybook_common.migrations import downgrade, upgrade


def serve(app_factory: str, host: str, port: int, workers: int = 1, threads: int = 1) -> None:
    """Serve ``module:create_app`` with Granian (its factory mode calls create_app per worker)."""
    from granian.constants import Interfaces
    from granian.server import Server

    Server(
        app_factory,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        runtime_threads=threads,
        factory=True,
        log_access=False,
        backlog=2048,
    ).serve()


def service_main(
    *,
    name: str,
    app_factory: str,
    default_port: int,
    script_location: str,
    database: Callable[[], DatabaseSettings],
    extra: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] | None = None,
    argv: Sequence[str] | None = None,
) -> None:
    prefix = name.upper()
    parser = argparse.ArgumentParser(prog=f"daybook-{name}", description=f"Daybook {name} service")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="serve the HTTP API with Granian")
    p_serve.add_argument("--host", default=os.environ.get(f"{prefix}_HOST", "127.0.0.1"))
    p_serve.add_argument("--port", type=int, default=int(os.environ.get(f"{prefix}_PORT", default_port)))
    p_serve.add_argument("--workers", type=int, default=int(os.environ.get(f"{prefix}_WORKERS", "1")))
    p_migrate = sub.add_parser("migrate", help="apply this service's migrations")
    p_migrate.add_argument("revision", nargs="?", default="head")
    p_down = sub.add_parser("downgrade", help="revert this service's migrations")
    p_down.add_argument("revision", nargs="?", default="-1")
    if extra is not None:
        extra(sub)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(app_factory, args.host, args.port, args.workers)
    elif args.command == "migrate":
        db = database()
        upgrade(script_location, db.url, db.schema, args.revision)
    elif args.command == "downgrade":
        db = database()
        downgrade(script_location, db.url, db.schema, args.revision)
    elif hasattr(args, "handler"):
        args.handler(args)
