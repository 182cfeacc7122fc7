"""Events between services: a transactional outbox, a relay to NATS JetStream, idempotent consumers.

A producer calls :func:`add_event` inside the transaction that makes the change; the
relay publishes unpublished rows in order with the event id as the JetStream message
id (so a re-publish after a crash is de-duplicated); consumers record handled event
ids in their ``inbox`` so a redelivered event does nothing.
"""

from daybook_common.events.tables import add_event, inbox_table, outbox_table

STREAM = "DAYBOOK"
SUBJECTS = ("users.>", "journal.>", "reminders.>", "deadletter.>")
DEAD_LETTER_PREFIX = "deadletter"
USER_DELETED = "users.user.deleted"

__all__ = [
    "DEAD_LETTER_PREFIX",
    "STREAM",
    "SUBJECTS",
    "USER_DELETED",
    "add_event",
    "inbox_table",
    "outbox_table",
]
