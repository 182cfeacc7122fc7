"""Data migrations (backfills) in batches: resumable, with progress, and a downgrade.

A :class:`Backfill` names the rows still to do by a condition (``todo``) that a finished row
no longer meets, so a run that stopped halfway (a crash, ``max_batches``, a lock timeout)
simply continues where it stopped when run again.  Each batch is one ``UPDATE`` of at most
``batch_size`` rows picked in key order (``FOR UPDATE SKIP LOCKED``: rows a request holds are
left for a later pass, never waited for) and updated by row address, whatever the table's
statistics say (see :meth:`Backfill._batch_sql`).

In an Alembic revision, run it inside an autocommit block so every batch commits on its own
(short locks, progress kept across a crash)::

    SEARCH_WORDS = Backfill(
        table="journal.journal_entries",
        set="search_words = journal.search_fold(title)",
        todo="search_words IS NULL",
        undo_set="search_words = NULL",
        undo_todo="search_words IS NOT NULL",
    )

    def upgrade() -> None:
        op.add_column(...)                      # in the revision's transaction
        with op.get_context().autocommit_block():
            SEARCH_WORDS.upgrade(op.get_bind())

    def downgrade() -> None:
        with op.get_context().autocommit_block():
            SEARCH_WORDS.downgrade(op.get_bind())
        op.drop_column(...)

Outside an autocommit block every batch runs in the caller's transaction: all or nothing.
``daybook migrate --dry-run`` skips revisions with an autocommit block (they cannot be rolled
back); ``table``, ``set`` and the conditions are SQL written by the revision's author, never input.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

logger = logging.getLogger("daybook.backfill")
Progress = Callable[[int, int], None]
"""Called after each batch with (rows done so far, rows there were to do at the start)."""


@dataclass(frozen=True)
class Backfill:
    table: str
    """Schema-qualified table, e.g. ``journal.journal_entries``."""
    set: str
    """The ``SET`` clause of the upgrade, e.g. ``search_words = journal.search_fold(title)``."""
    todo: str
    """Rows the upgrade still has to do; a row it has done must no longer match."""
    undo_set: str
    """The ``SET`` clause of the downgrade."""
    undo_todo: str
    """Rows the downgrade still has to undo."""
    key: str = "id"
    """A unique, indexed column: batches are taken in its order."""
    batch_size: int = 5000

    def upgrade(
        self, bind: Connection, max_batches: int | None = None, progress: Progress | None = None
    ) -> int:
        """Apply ``set`` to every row matching ``todo``; returns the rows changed by this run."""
        return self._run(bind, self.set, self.todo, "upgrade", max_batches, progress)

    def downgrade(
        self, bind: Connection, max_batches: int | None = None, progress: Progress | None = None
    ) -> int:
        """Apply ``undo_set`` to every row matching ``undo_todo``; returns the rows changed."""
        return self._run(bind, self.undo_set, self.undo_todo, "downgrade", max_batches, progress)

    def _batch_sql(self, assignment: str, condition: str, after: bool) -> str:
        """One batch: picked once (``ARRAY(…)``, an InitPlan), updated by row address (a TID scan).

        ``… WHERE key IN (SELECT key … LIMIT n)`` could be planned as a nested loop rescanning the
        pick for every row of the table when its statistics said it was empty (a table analysed
        just after it was created or emptied, then filled): quadratic, as the batched deletes of
        :mod:`daybook_common.batch_delete` were.  The picked rows are locked, so none gets a new
        address before the update; a run still ends only on a batch that changes nothing."""
        keyset = f" AND {self.key} > :after" if after else ""
        return (
            f"UPDATE {self.table} SET {assignment} WHERE ctid = ANY(ARRAY("
            f"SELECT ctid FROM {self.table} WHERE ({condition}){keyset} "
            f"ORDER BY {self.key} LIMIT :limit FOR UPDATE SKIP LOCKED)) RETURNING {self.key}"
        )

    def _run(
        self,
        bind: Connection,
        assignment: str,
        condition: str,
        direction: str,
        max_batches: int | None,
        progress: Progress | None,
    ) -> int:
        total = int(bind.execute(text(f"SELECT count(*) FROM {self.table} WHERE {condition}")).scalar_one())
        done = batches = 0
        after: Any = None
        began = time.monotonic()
        while max_batches is None or batches < max_batches:
            params: dict[str, Any] = {"limit": self.batch_size}
            if after is not None:
                params["after"] = after
            keys = bind.execute(text(self._batch_sql(assignment, condition, after is not None)), params)
            changed = [row[0] for row in keys]
            if not changed:
                break
            after = max(changed)
            done += len(changed)
            batches += 1
            if progress is not None:
                progress(done, total)
            logger.info(
                "backfill %s %s: %d of %d rows (%d batches, %.1fs)",
                direction,
                self.table,
                done,
                total,
                batches,
                time.monotonic() - began,
            )
        return done
