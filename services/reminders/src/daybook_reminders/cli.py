"""`daybook-reminders serve|migrate|downgrade|scheduler`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from daybook_common.cli import common_database, service_main
from daybook_reminders.settings import Settings


def _run_scheduler(_args: argparse.Namespace) -> None:
    from daybook_reminders.scheduler import main as scheduler_main

    scheduler_main()


def _extra(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scheduler = sub.add_parser(
        "scheduler", help="run the scheduler worker (same as daybook-reminders-scheduler)"
    )
    scheduler.set_defaults(handler=_run_scheduler)


def main(argv: Sequence[str] | None = None) -> None:
    service_main("reminders", Settings.from_env, argv, database=common_database, extra=_extra)


if __name__ == "__main__":
    main()
