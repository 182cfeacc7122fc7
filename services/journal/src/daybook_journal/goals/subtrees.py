"""The walk down goal subtrees, one SQL form for every statement that needs it.

A recursive ``goals JOIN walk ON c.parent_id = p.id`` is planned from the statistics of
``goals``: when they say the table is empty (analysed just after a purge or an erasure emptied
it, then refilled) the join becomes a nested loop reading every goal of the table for each goal
found (48 million rows handled to move a 4,000-goal subtree, 72 million to purge 3,000
deletions). Here each goal's children are looked up by the ``parent_id`` index (``LATERAL``,
``OFFSET 0``: not flattened into a join the planner may turn around), whatever the statistics
(``tests/test_goal_subtree_plan.py``, ``tests/test_goal_purge_plan.py``).
"""

from __future__ import annotations

from daybook_journal import SCHEMA


def subtrees_cte(name: str, tops: str, *, live_only: bool = False) -> str:
    """``name AS (…)`` for a ``WITH RECURSIVE``: the ids of the goals of the subtrees whose top
    goals' ids ``tops`` selects (the tops included); ``live_only``: not down into trashed goals."""
    live = " AND deleted_at IS NULL" if live_only else ""
    return f"""{name} AS (
    {tops}
    UNION ALL
    SELECT c.id FROM {name} AS p, LATERAL (
        SELECT id FROM {SCHEMA}.goals WHERE parent_id = p.id{live} OFFSET 0
    ) AS c
)"""
