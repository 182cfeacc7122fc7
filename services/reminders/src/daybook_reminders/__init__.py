"""Daybook reminders service."""

SCHEMA = "reminders"
SCRIPT_LOCATION = "daybook_reminders.db:migrations"
DEFAULT_PORT = 8003
# Channel the API NOTIFYs when a reminder's schedule changes; schedulers LISTEN on it.
NOTIFY_CHANNEL = "reminders_changed"
# The event of each notification the scheduler records (through the outbox; the live streams).
NOTIFICATION_CREATED = "reminders.notification.created"
# Channel that wakes the outbox relay (``daybook_common.events.tables.notify_channel``).
OUTBOX_CHANNEL = f"{SCHEMA}_outbox"
