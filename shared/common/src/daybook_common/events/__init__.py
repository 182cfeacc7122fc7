"""Events between services: a transactional outbox, a relay to NATS JetStream, idempotent consumers.

A producer calls :func:`add_event` inside the transaction that makes the change; the
relay publishes unpublished rows in order with the event id as the JetStream message
id (so a re-publish after a crash is de-duplicated); consumers record handled event
ids in their ``inbox`` so a redelivered event does nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from daybook_common.events.tables import add_event, inbox_table, outbox_table

STREAM = "DAYBOOK"
SUBJECTS = ("users.>", "journal.>", "reminders.>", "deadletter.>")
DEAD_LETTER_PREFIX = "deadletter"
USER_DELETED = "users.user.deleted"
#: A user revoked one of their sessions; payload ``{event_id, session_id, user_id, expires_at}``
#: (until then its access tokens may be presented: :func:`daybook_common.denylist.deny_session`).
SESSION_REVOKED = "users.session.revoked"
#: An admin deactivated or activated an account; payload ``{event_id, user_id, active, version}``.
#: One subject for both, so one durable consumer sees them in the order they happened.
USER_ACCESS = "users.user.access"
#: Journal's task lifecycle, for the reminders' projection of live tasks; payload
#: ``{event_id, task_id, user_id, version, deleted}`` (``version`` orders a task's events).
TASK_CREATED = "journal.task.created"
TASK_DELETED = "journal.task.deleted"
TASK_RESTORED = "journal.task.restored"
TASK_EVENTS = "journal.task.>"

__all__ = [
    "DEAD_LETTER_PREFIX",
    "SESSION_REVOKED",
    "STREAM",
    "SUBJECTS",
    "TASK_CREATED",
    "TASK_DELETED",
    "TASK_EVENTS",
    "TASK_RESTORED",
    "USER_ACCESS",
    "USER_DELETED",
    "add_event",
    "inbox_table",
    "outbox_table",
]


def __getattr__(name: str) -> Any:
    """The tables (SQLAlchemy) on first use: the launcher's stream step needs only the names above."""
    if name in {"add_event", "inbox_table", "outbox_table"}:
        from daybook_common.events import tables

        return getattr(tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
