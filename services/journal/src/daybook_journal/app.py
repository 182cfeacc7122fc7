"""The journal service's composition root."""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from daybook_common.db import plain_url
from daybook_common.denylist import session_revoked_handler, user_access_handler
from daybook_common.events import SESSION_REVOKED, USER_ACCESS, USER_DELETED
from daybook_common.export_http import export_router
from daybook_common.service import ServiceApp
from daybook_journal import SCHEMA, SCRIPT_LOCATION
from daybook_journal.activities.controllers import (
    ActivityController,
    ActivityGroupController,
    TreeActivityController,
)
from daybook_journal.db.models import Base, outbox
from daybook_journal.db.reads import READ_POOL_STATE_KEY, ReadPool
from daybook_journal.dependencies import SETTINGS_STATE_KEY, dependencies
from daybook_journal.entries.controllers import EntryController
from daybook_journal.events import on_user_deleted
from daybook_journal.export import KINDS as EXPORT_KINDS
from daybook_journal.goals.controllers import GoalController
from daybook_journal.hot_reads import hot_reads
from daybook_journal.retention import retention_runner
from daybook_journal.sessions.controllers import SessionController, TreeSessionController
from daybook_journal.settings import Settings
from daybook_journal.stats.controllers import StatsController
from daybook_journal.tags.controllers import TagController
from daybook_journal.tasks.controllers import TaskController
from daybook_journal.templates.controllers import TemplateController, TreeTemplateController


def create_served_app() -> Litestar:
    """What ``daybook-journal serve`` runs in each Granian worker: ``create_app`` plus the
    worker's garbage-collector settings (:mod:`daybook_common.heap`)."""
    return create_app(tune_heap=True)


def create_app(settings: Settings | None = None, *, tune_heap: bool = False) -> Litestar:
    settings = settings or Settings.from_env()
    journal = settings.journal
    reads = ReadPool(settings.common.database, "daybook-journal-reads")
    on_startup: list[Any] = [reads.start]
    on_shutdown: list[Any] = [reads.stop]
    retention = retention_runner(plain_url(settings.common.database.session_url), journal)
    on_startup.append(retention.start)
    on_shutdown.append(retention.stop)
    return ServiceApp(
        settings=settings.common,
        metadata=Base.metadata,
        script_location=SCRIPT_LOCATION,
        route_handlers=[
            EntryController,
            TagController,
            TaskController,
            GoalController,
            TreeActivityController,
            ActivityController,
            ActivityGroupController,
            TreeTemplateController,
            TemplateController,
            TreeSessionController,
            SessionController,
            StatsController,
            export_router(EXPORT_KINDS),
        ],
        title="Daybook journal",
        description="Journal entries (plain or client-side encrypted), tags and tasks.",
        dependencies=dependencies,
        state={SETTINGS_STATE_KEY: journal, READ_POOL_STATE_KEY: reads},
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        outbox=outbox,
        event_handlers={
            USER_DELETED: on_user_deleted,
            USER_ACCESS: user_access_handler(SCHEMA),
            SESSION_REVOKED: session_revoked_handler(SCHEMA),
        },
        tune_heap=tune_heap,
        front=hot_reads if journal.list_fast_path else None,  # the hot reads before Litestar
    ).build()
