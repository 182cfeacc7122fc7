"""`daybook-reminders serve|migrate|downgrade|scheduler`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from daybook_common.cli import service_main
from daybook_common.db import DatabaseSettings
from daybook_reminders import DEFAULT_PORT, SCRIPT_LOCATION
from daybook_reminders.settings import Settings


def _database() -> DatabaseSettings:
    return Settings.from_env().common.database


def _run_scheduler(_args: argparse.Namespace) -> None:
    from daybook_reminders.scheduler import main as scheduler_main

    scheduler_main()


def _extra(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scheduler = sub.add_parser(
        "scheduler", help="run the scheduler worker (same as daybook-reminders-scheduler)"
    )
    scheduler.set_defaults(handler=_run_scheduler)


def main(argv: Sequence[str] | None = None) -> None:
    service_main(
        argv=argv,
        name="reminders",
        app_factory="daybook_reminders.app:create_served_app",
        default_port=DEFAULT_PORT,
        script_location=SCRIPT_LOCATION,
        database=_database,
        extra=_extra,
    )


if __name__ == "__main__":
    main()
