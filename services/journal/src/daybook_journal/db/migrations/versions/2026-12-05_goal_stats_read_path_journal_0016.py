"""``journal.goal_stats`` in one pass, and covering indexes for a tree's instances and values.

The function built each (activity, bucket)'s metric list in a correlated subquery that
scanned the whole range's instances again for every output row (quadratic: a year of one tree
by week, 260 rows × 495 instances), and read each instance's values through the
``(instance_id, …)`` key with a heap fetch per instance.  Now the per-activity figures and the
per-metric figures are two aggregates of the same instances, merged by one ``GROUP BY`` (same
columns, same rows, same order), and the instances and values of a tree are read from two
covering indexes on ``(root_id, …)`` (index-only scans; ``user_id`` is included for the
row-level security filter).  Measured on case 8's data (2,000 trees, 1M instances): a year by
week 29 → 10 ms of PostgreSQL CPU per call (bench/README, case 8).

The indexes are built ``CONCURRENTLY`` outside the migration's transaction (no write lock on
the live tables); the function is replaced in place (same signature; SQL, so still inlined).

Revision ID: journal_0016
Revises: journal_0015
Create Date: 2026-12-05
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "journal_0016"
down_revision: str | Sequence[str] | None = "journal_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
INDEXES = (
    (
        "ix_activity_instances_root_id_session_id",
        "activity_instances (root_id, session_id) INCLUDE (id, activity_id, duration_seconds, user_id)",
    ),
    (
        "ix_metric_values_root_id_instance_id",
        "metric_values (root_id, instance_id) INCLUDE (metric_id, split_id, value, user_id)",
    ),
)

STATS_FUNCTION = """
CREATE OR REPLACE FUNCTION journal.goal_stats(p_root uuid, p_from timestamptz, p_to timestamptz, p_bucket text)
RETURNS TABLE (
    activity_id uuid, bucket_start timestamptz, sessions bigint, instances bigint,
    total_seconds bigint, metrics jsonb
)
LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
AS $stats$
    WITH inst AS (
        SELECT i.id, i.activity_id, i.session_id, i.duration_seconds,
               date_trunc(p_bucket, s.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start
        FROM journal.sessions AS s
        JOIN journal.activity_instances AS i ON i.session_id = s.id AND i.root_id = s.root_id
        WHERE s.root_id = p_root AND s.deleted_at IS NULL
          AND s.started_at >= p_from AND s.started_at < p_to
    ),
    parts AS (
        SELECT inst.activity_id, inst.bucket_start,
               count(DISTINCT inst.session_id) AS sessions, count(*) AS instances,
               coalesce(sum(inst.duration_seconds), 0)::bigint AS total_seconds,
               NULL::uuid AS metric_id, NULL::uuid AS split_id, NULL::jsonb AS figures
        FROM inst GROUP BY inst.activity_id, inst.bucket_start
        UNION ALL
        SELECT inst.activity_id, inst.bucket_start, 0, 0, 0, v.metric_id, v.split_id,
               jsonb_build_object(
                   'metric_id', v.metric_id, 'split_id', v.split_id,
                   'sum', sum(v.value), 'avg', avg(v.value), 'max', max(v.value)
               )
        FROM inst JOIN journal.metric_values AS v ON v.root_id = p_root AND v.instance_id = inst.id
        GROUP BY inst.activity_id, inst.bucket_start, v.metric_id, v.split_id
    )
    SELECT parts.activity_id, parts.bucket_start, sum(parts.sessions)::bigint,
           sum(parts.instances)::bigint, sum(parts.total_seconds)::bigint,
           coalesce(
               jsonb_agg(parts.figures ORDER BY parts.metric_id, parts.split_id NULLS FIRST)
                   FILTER (WHERE parts.figures IS NOT NULL),
               '[]'::jsonb
           )
    FROM parts
    GROUP BY parts.activity_id, parts.bucket_start
    ORDER BY parts.bucket_start, parts.activity_id
$stats$
"""


def _previous_function() -> str:
    """``journal_0004``'s definition as ``journal_0009`` left it (no ``SET search_path``), read from
    that revision's file so the one text stays where it was written."""
    path = Path(__file__).with_name("2026-12-04_goals_and_practice_journal_0004.py")
    spec = importlib.util.spec_from_file_location("journal_0004", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.STATS_FUNCTION
    return text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION").replace(
        "SET search_path = pg_catalog, pg_temp\n", ""
    )


def upgrade() -> None:
    op.execute(STATS_FUNCTION)
    with op.get_context().autocommit_block():
        for name, definition in INDEXES:
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {SCHEMA}.{definition}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, _ in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{name}")
    op.execute(_previous_function())
