"""The reminders service's composition root."""

from __future__ import annotations

from litestar import Litestar

from daybook_common.denylist import session_revoked_handler, user_access_handler
from daybook_common.events import SESSION_REVOKED, TASK_EVENTS, USER_ACCESS, USER_DELETED
from daybook_common.export_http import export_router
from daybook_common.service import ServiceApp
from daybook_reminders import SCHEMA, SCRIPT_LOCATION
from daybook_reminders.db import models as m
from daybook_reminders.db.models import Base
from daybook_reminders.dependencies import dependencies
from daybook_reminders.events import on_user_deleted
from daybook_reminders.export import KINDS as EXPORT_KINDS
from daybook_reminders.notifications.controllers import NotificationController
from daybook_reminders.notifications.live import LiveHub
from daybook_reminders.notifications.stream import HEARTBEAT_STATE_KEY, LIVE_STATE_KEY
from daybook_reminders.reminders.controllers import ReminderController
from daybook_reminders.retention import retention_runner
from daybook_reminders.settings import Settings
from daybook_reminders.tasks import TASK_WAIT_STATE_KEY, on_task_event


def create_served_app() -> Litestar:
    """What ``daybook-reminders serve`` runs in each Granian worker: ``create_app`` plus the
    worker's garbage-collector settings (:mod:`daybook_common.heap`)."""
    return create_app(tune_heap=True)


def create_app(settings: Settings | None = None, *, tune_heap: bool = False) -> Litestar:
    settings = settings or Settings.from_env()
    retention = retention_runner(settings)
    live = LiveHub(settings.common.database, settings.common.nats_url, settings.streams_per_user)
    app = ServiceApp(
        settings=settings.common,
        metadata=Base.metadata,
        script_location=SCRIPT_LOCATION,
        route_handlers=[ReminderController, NotificationController, export_router(EXPORT_KINDS)],
        title="Daybook reminders",
        description="Reminders with time-zone-correct recurrence, and the notifications they fire.",
        dependencies=dependencies,
        event_handlers={
            USER_DELETED: on_user_deleted,
            USER_ACCESS: user_access_handler(SCHEMA),
            TASK_EVENTS: on_task_event,
            SESSION_REVOKED: session_revoked_handler(SCHEMA),
        },
        state={
            TASK_WAIT_STATE_KEY: settings.task_event_wait_seconds,
            LIVE_STATE_KEY: live,
            HEARTBEAT_STATE_KEY: settings.stream_heartbeat_seconds,
        },
        outbox=m.outbox,
        on_startup=[retention.start, live.start],
        on_shutdown=[live.stop, retention.stop],
        tune_heap=tune_heap,
    ).build()
    denied = app.state["events"].deleted_users
    if denied is not None:  # an erased or deactivated account's streams end at once
        denied.on_deny(live.close_user)
    return app
