"""`daybook-journal serve|migrate|downgrade`."""

from __future__ import annotations

from collections.abc import Sequence

from daybook_common.cli import service_main
from daybook_common.db import DatabaseSettings
from daybook_journal import DEFAULT_PORT, SCRIPT_LOCATION
from daybook_journal.settings import Settings


def _database() -> DatabaseSettings:
    return Settings.from_env().common.database


def main(argv: Sequence[str] | None = None) -> None:
    service_main(
        argv=argv,
        name="journal",
        app_factory="daybook_journal.app:create_app",
        default_port=DEFAULT_PORT,
        script_location=SCRIPT_LOCATION,
        database=_database,
    )


if __name__ == "__main__":
    main()
