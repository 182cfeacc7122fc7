"""`daybook-gateway serve`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from daybook_common.cli import serve
from daybook_gateway import DEFAULT_PORT

APP_FACTORY = "daybook_gateway.app:create_served_app"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="daybook-gateway", description="Daybook API gateway")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="serve the gateway with Granian")
    p_serve.add_argument("--host", default=os.environ.get("GATEWAY_HOST") or "127.0.0.1")
    p_serve.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT") or DEFAULT_PORT))
    p_serve.add_argument("--workers", type=int, default=int(os.environ.get("GATEWAY_WORKERS") or "1"))
    args = parser.parse_args(argv)
    if args.command == "serve":
        # Settings are read in create_app, in each worker; fail here, before binding, on bad values.
        from daybook_gateway.settings import Settings

        Settings.from_env()
        serve(APP_FACTORY, args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
