"""Where the reminders service wires its request-scoped dependencies (the app registers them all).

``user_db`` is the caller's session bound for row-level security (:mod:`daybook_common.rls`);
every service below works in it.
"""

from __future__ import annotations

from litestar.datastructures import State
from litestar.di import Provide

from daybook_common.idempotency import IdempotencyKeys
from daybook_common.rls import UserDb, provide_user_db
from daybook_reminders.db import models as m
from daybook_reminders.notifications.services import NotificationService
from daybook_reminders.reminders.services import ReminderService
from daybook_reminders.tasks import TASK_WAIT_STATE_KEY


def provide_reminder_service(user_db: UserDb, state: State) -> ReminderService:
    wait = float(state.get(TASK_WAIT_STATE_KEY, 0.0))
    return ReminderService(session=user_db.session, user_id=user_db.user_id, task_wait_seconds=wait)


def provide_notification_service(user_db: UserDb) -> NotificationService:
    return NotificationService(session=user_db.session, user_id=user_db.user_id)


def provide_idempotency(user_db: UserDb) -> IdempotencyKeys:
    return IdempotencyKeys(user_db.session, m.idempotency_keys, user_db.user_id)


dependencies: dict[str, Provide] = {
    "user_db": Provide(provide_user_db),
    "reminders": Provide(provide_reminder_service, sync_to_thread=False),
    "notifications": Provide(provide_notification_service, sync_to_thread=False),
    "idempotency": Provide(provide_idempotency, sync_to_thread=False),
}
