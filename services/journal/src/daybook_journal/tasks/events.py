"""Task lifecycle events for other services (reminders keeps a projection of live tasks).

Written to the outbox in the transaction that changes the task, so an event exists exactly
when its change committed.  ``version`` is the task's version after the change: consumers
apply a task's events in version order whatever order they arrive in.
"""

from __future__ import annotations

import uuid

from daybook_common.events import TASK_CREATED, TASK_DELETED, TASK_RESTORED, add_event
from daybook_common.rls import UserDb
from daybook_journal.db.models import outbox

_SUBJECTS = {"created": TASK_CREATED, "deleted": TASK_DELETED, "restored": TASK_RESTORED}


async def task_changed(db: UserDb, task_id: uuid.UUID, version: int, change: str) -> None:
    """Queue ``journal.task.<change>`` (``created``, ``deleted`` or ``restored``)."""
    payload = {
        "task_id": str(task_id),
        "user_id": str(db.user_id),
        "version": version,
        "deleted": change == "deleted",
    }
    await add_event(db.session, outbox, _SUBJECTS[change], payload)
