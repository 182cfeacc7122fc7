"""What the journal contributes to the account export (:mod:`daybook_common.export`).

Entries, tags, tasks and goals in the API's shapes; entries' earlier revisions (``entry_revisions``,
columns as stored, bytes as base64) and the rest of the goals-and-practice domain
(practice sessions, activity groups, activities with their metric and split definitions,
session templates, activity instances, metric values and the link tables) as stored, one
file per table, so nothing of the user's is left out.  Soft-deleted rows are included, with
their ``deleted_at``.
"""

from __future__ import annotations

import sqlalchemy as sa

from daybook_common.export import ExportKind, kinds_by_name, table_kind
from daybook_journal import SCHEMA
from daybook_journal.db import goal_models as gm
from daybook_journal.db.models import Base, entry_revisions
from daybook_journal.entries.services import EXPORT as ENTRIES
from daybook_journal.goals.services import EXPORT as GOALS
from daybook_journal.tags.services import EXPORT as TAGS
from daybook_journal.tasks.services import EXPORT as TASKS

_PRACTICE_TABLES = tuple(name for name in gm.GOAL_TABLES if name != "goals")


def _table(name: str) -> sa.Table:
    return Base.metadata.tables[f"{SCHEMA}.{name}"]


KINDS: dict[str, ExportKind] = kinds_by_name(
    ENTRIES,
    table_kind(entry_revisions),
    TAGS,
    TASKS,
    GOALS,
    *(table_kind(_table(name)) for name in _PRACTICE_TABLES),
)

__all__ = ["KINDS"]
