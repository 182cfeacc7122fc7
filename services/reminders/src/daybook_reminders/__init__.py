"""Daybook reminders service."""

SCHEMA = "reminders"
SCRIPT_LOCATION = "daybook_reminders.db:migrations"
DEFAULT_PORT = 8003
# Channel the API NOTIFYs when a reminder's schedule changes; schedulers LISTEN on it.
NOTIFY_CHANNEL = "reminders_changed"
