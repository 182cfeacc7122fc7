"""Daybook journal service."""

SCHEMA = "journal"
SCRIPT_LOCATION = "daybook_journal.db:migrations"
DEFAULT_PORT = 8002
