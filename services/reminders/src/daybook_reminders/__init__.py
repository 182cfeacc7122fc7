"""Daybook reminders service."""

SCHEMA = "reminders"
SCRIPT_LOCATION = "daybook_reminders.db:migrations"
DEFAULT_PORT = 8003
