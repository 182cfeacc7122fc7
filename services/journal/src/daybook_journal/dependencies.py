"""Where the journal service wires its request-scoped dependencies: the app registers
:data:`dependencies` (the caller's session, settings, idempotency keys, the entries, tags
and tasks services and list queries, the entry create path, and the goals, activities,
templates, sessions and stats services; the goal tree, sessions pages and stats read on the
read pool).

``user_db`` is the caller's session bound for row-level security (:mod:`daybook_common.rls`);
the list endpoints read through :func:`user_reads` instead (no session, no transaction)."""

from __future__ import annotations

import datetime
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import Provide

from daybook_common.auth import AccessClaims, provide_current_user
from daybook_common.idempotency import IdempotencyKeys
from daybook_common.rls import UserDb, provide_user_db
from daybook_journal.activities.services import ActivityService
from daybook_journal.db.models import idempotency_keys
from daybook_journal.db.reads import READ_POOL_STATE_KEY, ReadPool, UserReads
from daybook_journal.entries.revisions import Revisions
from daybook_journal.entries.services import EntryQueries, EntryService
from daybook_journal.entries.writes import EntryWrites
from daybook_journal.goals.services import GoalQueries, GoalService
from daybook_journal.sessions.reads import SessionQueries
from daybook_journal.sessions.services import SessionService
from daybook_journal.settings import JournalSettings
from daybook_journal.stats.services import StatsService
from daybook_journal.tags.services import TagQueries, TagService
from daybook_journal.tasks.services import TaskQueries, TaskService
from daybook_journal.templates.services import TemplateService

SETTINGS_STATE_KEY = "journal_settings"


def provide_journal_settings(state: State) -> JournalSettings:
    settings: JournalSettings = state[SETTINGS_STATE_KEY]
    return settings


def user_reads(state: State, current_user: AccessClaims) -> UserReads:
    """The list endpoints' handle: no session, no transaction; see :mod:`daybook_journal.db.reads`.

    The list providers call this directly (state + current_user only) so each list request
    resolves a single chain of dependencies (Litestar runs sibling dependencies in a task
    group, which costs more than the dependency itself on the hot path).
    """
    pool: ReadPool = state[READ_POOL_STATE_KEY]
    return UserReads(pool=pool, user_id=current_user.user_id)


def provide_idempotency(user_db: UserDb, journal_settings: JournalSettings) -> IdempotencyKeys:
    ttl = datetime.timedelta(hours=journal_settings.idempotency_ttl_hours)
    return IdempotencyKeys(user_db.session, idempotency_keys, user_db.user_id, ttl)


def provide_entry_writes(state: State, current_user: AccessClaims) -> EntryWrites:
    """The entry create path: no session, a short transaction on the read pool (see its module)."""
    settings: JournalSettings = state[SETTINGS_STATE_KEY]
    ttl = datetime.timedelta(hours=settings.idempotency_ttl_hours)
    return EntryWrites(state[READ_POOL_STATE_KEY], current_user.user_id, ttl)


def provide_entries(user_db: UserDb) -> EntryService:
    return EntryService(user_db)


async def provide_entry_queries(request: Request[Any, Any, Any], state: State) -> EntryQueries:
    # The caller is checked here (same function as the `current_user` dependency) rather than
    # through a second dependency level: one dependency is measurably cheaper on the hot read.
    current_user = await provide_current_user(request, state)
    return EntryQueries(user_reads(state, current_user))


def provide_revisions(user_db: UserDb) -> Revisions:
    return Revisions(user_db)


def provide_tags(user_db: UserDb) -> TagService:
    return TagService(user_db)


def provide_tag_queries(state: State, current_user: AccessClaims) -> TagQueries:
    return TagQueries(user_reads(state, current_user))


def provide_tasks(user_db: UserDb) -> TaskService:
    return TaskService(user_db)


def provide_task_queries(state: State, current_user: AccessClaims) -> TaskQueries:
    return TaskQueries(user_reads(state, current_user))


def provide_goals(user_db: UserDb) -> GoalService:
    return GoalService(user_db)


def provide_activities(user_db: UserDb) -> ActivityService:
    return ActivityService(user_db)


def provide_templates(user_db: UserDb) -> TemplateService:
    return TemplateService(user_db)


def provide_sessions(user_db: UserDb) -> SessionService:
    return SessionService(user_db)


def provide_goal_queries(state: State, current_user: AccessClaims) -> GoalQueries:
    return GoalQueries(user_reads(state, current_user))


def provide_session_queries(state: State, current_user: AccessClaims) -> SessionQueries:
    return SessionQueries(user_reads(state, current_user))


def provide_stats(state: State, current_user: AccessClaims) -> StatsService:
    return StatsService(user_reads(state, current_user))


dependencies: dict[str, Provide] = {
    "user_db": Provide(provide_user_db),
    "journal_settings": Provide(provide_journal_settings, sync_to_thread=False),
    "idempotency": Provide(provide_idempotency, sync_to_thread=False),
    "entries": Provide(provide_entries, sync_to_thread=False),
    "entry_writes": Provide(provide_entry_writes, sync_to_thread=False),
    "entry_queries": Provide(provide_entry_queries),
    "revisions": Provide(provide_revisions, sync_to_thread=False),
    "tag_service": Provide(provide_tags, sync_to_thread=False),
    "tag_queries": Provide(provide_tag_queries, sync_to_thread=False),
    "task_service": Provide(provide_tasks, sync_to_thread=False),
    "task_queries": Provide(provide_task_queries, sync_to_thread=False),
    "goal_service": Provide(provide_goals, sync_to_thread=False),
    "goal_queries": Provide(provide_goal_queries, sync_to_thread=False),
    "activity_service": Provide(provide_activities, sync_to_thread=False),
    "template_service": Provide(provide_templates, sync_to_thread=False),
    "session_service": Provide(provide_sessions, sync_to_thread=False),
    "session_queries": Provide(provide_session_queries, sync_to_thread=False),
    "stats_service": Provide(provide_stats, sync_to_thread=False),
}

__all__ = [
    "SETTINGS_STATE_KEY",
    "dependencies",
    "provide_idempotency",
    "provide_journal_settings",
    "user_reads",
]
