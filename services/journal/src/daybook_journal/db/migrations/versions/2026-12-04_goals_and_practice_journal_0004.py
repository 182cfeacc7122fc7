"""Goals and practice: goal trees with ``root_id``, activities, metrics, splits, templates,
sessions, activity instances, metric values; row-level security; the ``goal_stats`` function.

Every table is new here, so plain (transactional) CREATE INDEX is safe: nothing reads or
writes these tables until this migration commits.  The design (``root_id`` kept by composite
foreign keys with ``ON UPDATE CASCADE``) is described in ``daybook_journal.db.goal_models``.

Row-level security is enabled and forced on every new table with the same rule as the
other journal tables (``journal_0002``).  ``journal.goal_stats`` is a plain SQL function
(``SECURITY INVOKER``, the default), so it runs under the caller's policies too.

Revision ID: journal_0004
Revises: journal_0003
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "journal_0004"
down_revision: str | Sequence[str] | None = "journal_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
TABLES = (
    "goals",
    "activity_groups",
    "activities",
    "metric_definitions",
    "split_definitions",
    "session_templates",
    "template_activities",
    "sessions",
    "session_goals",
    "activity_instances",
    "metric_values",
)
RLS_RULE = (
    "user_id = NULLIF(current_setting('app.user_id', true), '')::uuid"
    " OR current_setting('app.rls_bypass', true) = 'on'"
)

#: ``GET /goals/{root}/stats`` in one statement: per activity and bucket of the sessions'
#: ``started_at`` (UTC, ``from <= started_at < to``), counts, seconds and metric figures.
STATS_FUNCTION = """
CREATE FUNCTION journal.goal_stats(p_root uuid, p_from timestamptz, p_to timestamptz, p_bucket text)
RETURNS TABLE (
    activity_id uuid, bucket_start timestamptz, sessions bigint, instances bigint,
    total_seconds bigint, metrics jsonb
)
LANGUAGE sql STABLE SECURITY INVOKER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $stats$
    WITH inst AS (
        SELECT i.id, i.activity_id, i.session_id, i.duration_seconds,
               date_trunc(p_bucket, s.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket_start
        FROM journal.sessions AS s
        JOIN journal.activity_instances AS i ON i.session_id = s.id AND i.root_id = s.root_id
        WHERE s.root_id = p_root AND s.deleted_at IS NULL
          AND s.started_at >= p_from AND s.started_at < p_to
    ),
    per_activity AS (
        SELECT inst.activity_id, inst.bucket_start,
               count(DISTINCT inst.session_id) AS sessions, count(*) AS instances,
               coalesce(sum(inst.duration_seconds), 0)::bigint AS total_seconds
        FROM inst GROUP BY inst.activity_id, inst.bucket_start
    ),
    per_metric AS (
        SELECT inst.activity_id, inst.bucket_start, v.metric_id, v.split_id,
               sum(v.value) AS total, avg(v.value) AS mean, max(v.value) AS highest
        FROM inst JOIN journal.metric_values AS v ON v.instance_id = inst.id AND v.root_id = p_root
        GROUP BY inst.activity_id, inst.bucket_start, v.metric_id, v.split_id
    )
    SELECT a.activity_id, a.bucket_start, a.sessions, a.instances, a.total_seconds,
           coalesce(
               (SELECT jsonb_agg(
                           jsonb_build_object(
                               'metric_id', m.metric_id, 'split_id', m.split_id,
                               'sum', m.total, 'avg', m.mean, 'max', m.highest
                           ) ORDER BY m.metric_id, m.split_id NULLS FIRST)
                FROM per_metric AS m
                WHERE m.activity_id = a.activity_id AND m.bucket_start = a.bucket_start),
               '[]'::jsonb
           )
    FROM per_activity AS a
    ORDER BY a.bucket_start, a.activity_id
$stats$
"""


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute("SET LOCAL statement_timeout = '60s'")
    op.create_table('goals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('depth', sa.SmallInteger(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('deadline', _ts(), nullable=True),
    sa.Column('status', sa.Text(), server_default=sa.text("'active'"), nullable=False),
    sa.Column('completed_at', _ts(), nullable=True),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('deleted_at', _ts(), nullable=True),
    sa.Column('deletion_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint("(status = 'done') = (completed_at IS NOT NULL)", name=op.f('ck_goals_completed_at_iff_done')),
    sa.CheckConstraint("status IN ('active', 'done', 'archived')", name=op.f('ck_goals_status_values')),
    sa.CheckConstraint('(deleted_at IS NULL) = (deletion_id IS NULL)', name=op.f('ck_goals_deletion_with_deleted_at')),
    sa.CheckConstraint('(parent_id IS NULL) = (depth = 0)', name=op.f('ck_goals_depth_zero_iff_root')),
    sa.CheckConstraint('(parent_id IS NULL) = (root_id = id)', name=op.f('ck_goals_root_iff_no_parent')),
    sa.CheckConstraint('char_length(description) <= 10000', name=op.f('ck_goals_description_length')),
    sa.CheckConstraint('char_length(title) BETWEEN 1 AND 200', name=op.f('ck_goals_title_length')),
    sa.CheckConstraint('deadline >= created_at', name=op.f('ck_goals_deadline_after_created')),
    sa.CheckConstraint('depth BETWEEN 0 AND 11', name=op.f('ck_goals_depth_range')),
    sa.ForeignKeyConstraint(['parent_id', 'root_id', 'user_id'], ['journal.goals.id', 'journal.goals.root_id', 'journal.goals.user_id'], name='fk_goals_parent_id_goals', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goals')),
    sa.UniqueConstraint('id', 'root_id', 'user_id', name='uq_goals_id_root_id_user_id'),
    sa.UniqueConstraint('id', 'user_id', name='uq_goals_id_user_id'),
    schema='journal'
    )
    op.create_index('ix_goals_deletion_id', 'goals', ['deletion_id'], unique=False, schema='journal', postgresql_where=sa.text('deletion_id IS NOT NULL'))
    op.create_index('ix_goals_parent_id', 'goals', ['parent_id'], unique=False, schema='journal')
    op.create_index('ix_goals_root_id_depth_sort_order', 'goals', ['root_id', 'depth', 'sort_order', 'created_at', 'id'], unique=False, schema='journal', postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_goals_user_id_depth', 'goals', ['user_id', sa.literal_column('depth DESC')], unique=False, schema='journal')
    op.create_index('ix_goals_user_id_roots', 'goals', ['user_id', 'sort_order', 'created_at', 'id'], unique=False, schema='journal', postgresql_where=sa.text('parent_id IS NULL AND deleted_at IS NULL'))
    op.create_index('ix_goals_user_id_trash', 'goals', ['user_id', sa.literal_column('deleted_at DESC'), sa.literal_column('id DESC')], unique=False, schema='journal', postgresql_where=sa.text('deleted_at IS NOT NULL AND deletion_id = id'))
    op.create_table('activity_groups',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('goal_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint('char_length(name) BETWEEN 1 AND 100', name=op.f('ck_activity_groups_name_length')),
    sa.ForeignKeyConstraint(['goal_id', 'root_id', 'user_id'], ['journal.goals.id', 'journal.goals.root_id', 'journal.goals.user_id'], name='fk_activity_groups_goal_id_goals', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_groups')),
    sa.UniqueConstraint('id', 'root_id', 'user_id', name='uq_activity_groups_id_root_id_user_id'),
    schema='journal'
    )
    op.create_index('ix_activity_groups_goal_id', 'activity_groups', ['goal_id'], unique=False, schema='journal')
    op.create_index('ix_activity_groups_root_id_sort_order', 'activity_groups', ['root_id', 'sort_order', 'id'], unique=False, schema='journal')
    op.create_index('ix_activity_groups_user_id', 'activity_groups', ['user_id'], unique=False, schema='journal')
    op.create_index('uq_activity_groups_root_id_lower_name', 'activity_groups', ['root_id', sa.literal_column('lower(name)')], unique=True, schema='journal')
    op.create_table('activities',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('goal_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('deleted_at', _ts(), nullable=True),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint('char_length(description) <= 2000', name=op.f('ck_activities_description_length')),
    sa.CheckConstraint('char_length(name) BETWEEN 1 AND 100', name=op.f('ck_activities_name_length')),
    sa.ForeignKeyConstraint(['goal_id', 'root_id', 'user_id'], ['journal.goals.id', 'journal.goals.root_id', 'journal.goals.user_id'], name='fk_activities_goal_id_goals', onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'root_id', 'user_id'], ['journal.activity_groups.id', 'journal.activity_groups.root_id', 'journal.activity_groups.user_id'], name='fk_activities_group_id_activity_groups', onupdate='CASCADE', ondelete='NO ACTION'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    sa.UniqueConstraint('id', 'root_id', 'user_id', name='uq_activities_id_root_id_user_id'),
    schema='journal'
    )
    op.create_index('ix_activities_goal_id', 'activities', ['goal_id'], unique=False, schema='journal')
    op.create_index('ix_activities_group_id', 'activities', ['group_id'], unique=False, schema='journal', postgresql_where=sa.text('group_id IS NOT NULL'))
    op.create_index('ix_activities_user_id', 'activities', ['user_id'], unique=False, schema='journal')
    op.create_index('uq_activities_root_id_lower_name', 'activities', ['root_id', sa.literal_column('lower(name)')], unique=True, schema='journal', postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_table('metric_definitions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('unit', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('activity_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('deleted_at', _ts(), nullable=True),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint('char_length(name) BETWEEN 1 AND 100', name=op.f('ck_metric_definitions_name_length')),
    sa.CheckConstraint('char_length(unit) BETWEEN 1 AND 30', name=op.f('ck_metric_definitions_unit_length')),
    sa.ForeignKeyConstraint(['activity_id', 'root_id', 'user_id'], ['journal.activities.id', 'journal.activities.root_id', 'journal.activities.user_id'], name='fk_metric_definitions_activity_id_activities', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_definitions')),
    sa.UniqueConstraint('id', 'root_id', 'user_id', name='uq_metric_definitions_id_root_id_user_id'),
    schema='journal'
    )
    op.create_index('ix_metric_definitions_activity_id_sort_order', 'metric_definitions', ['activity_id', 'sort_order', 'id'], unique=False, schema='journal')
    op.create_index('ix_metric_definitions_user_id', 'metric_definitions', ['user_id'], unique=False, schema='journal')
    op.create_index('uq_metric_definitions_activity_id_lower_name', 'metric_definitions', ['activity_id', sa.literal_column('lower(name)')], unique=True, schema='journal', postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_table('split_definitions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('activity_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('deleted_at', _ts(), nullable=True),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint('char_length(name) BETWEEN 1 AND 100', name=op.f('ck_split_definitions_name_length')),
    sa.ForeignKeyConstraint(['activity_id', 'root_id', 'user_id'], ['journal.activities.id', 'journal.activities.root_id', 'journal.activities.user_id'], name='fk_split_definitions_activity_id_activities', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_split_definitions')),
    sa.UniqueConstraint('id', 'root_id', 'user_id', name='uq_split_definitions_id_root_id_user_id'),
    schema='journal'
    )
    op.create_index('ix_split_definitions_activity_id_sort_order', 'split_definitions', ['activity_id', 'sort_order', 'id'], unique=False, schema='journal')
    op.create_index('ix_split_definitions_user_id', 'split_definitions', ['user_id'], unique=False, schema='journal')
    op.create_index('uq_split_definitions_activity_id_lower_name', 'split_definitions', ['activity_id', sa.literal_column('lower(name)')], unique=True, schema='journal', postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_table('session_templates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('goal_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint('char_length(name) BETWEEN 1 AND 100', name=op.f('ck_session_templates_name_length')),
    sa.ForeignKeyConstraint(['goal_id', 'root_id', 'user_id'], ['journal.goals.id', 'journal.goals.root_id', 'journal.goals.user_id'], name='fk_session_templates_goal_id_goals', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_templates')),
    sa.UniqueConstraint('id', 'root_id', 'user_id', name='uq_session_templates_id_root_id_user_id'),
    schema='journal'
    )
    op.create_index('ix_session_templates_goal_id', 'session_templates', ['goal_id'], unique=False, schema='journal')
    op.create_index('ix_session_templates_user_id', 'session_templates', ['user_id'], unique=False, schema='journal')
    op.create_index('uq_session_templates_root_id_lower_name', 'session_templates', ['root_id', sa.literal_column('lower(name)')], unique=True, schema='journal')
    op.create_table('template_activities',
    sa.Column('template_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=False),
    sa.Column('activity_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('position >= 0', name=op.f('ck_template_activities_position_range')),
    sa.ForeignKeyConstraint(['activity_id', 'root_id', 'user_id'], ['journal.activities.id', 'journal.activities.root_id', 'journal.activities.user_id'], name='fk_template_activities_activity_id_activities', onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id', 'root_id', 'user_id'], ['journal.session_templates.id', 'journal.session_templates.root_id', 'journal.session_templates.user_id'], name='fk_template_activities_template_id_session_templates', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('template_id', 'position', name=op.f('pk_template_activities')),
    schema='journal'
    )
    op.create_index('ix_template_activities_activity_id', 'template_activities', ['activity_id'], unique=False, schema='journal')
    op.create_index('ix_template_activities_user_id', 'template_activities', ['user_id'], unique=False, schema='journal')
    op.create_table('sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('goal_id', sa.Uuid(), nullable=False),
    sa.Column('template_id', sa.Uuid(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('started_at', _ts(), nullable=False),
    sa.Column('ended_at', _ts(), nullable=True),
    sa.Column('deleted_at', _ts(), nullable=True),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint('char_length(notes) <= 10000', name=op.f('ck_sessions_notes_length')),
    sa.CheckConstraint('char_length(title) <= 200', name=op.f('ck_sessions_title_length')),
    sa.CheckConstraint('ended_at >= started_at', name=op.f('ck_sessions_ended_after_started')),
    sa.ForeignKeyConstraint(['goal_id', 'root_id', 'user_id'], ['journal.goals.id', 'journal.goals.root_id', 'journal.goals.user_id'], name='fk_sessions_goal_id_goals', onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['journal.session_templates.id'], name='fk_sessions_template_id_session_templates', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('id', 'root_id', 'user_id', name='uq_sessions_id_root_id_user_id'),
    schema='journal'
    )
    op.create_index('ix_sessions_goal_id', 'sessions', ['goal_id'], unique=False, schema='journal')
    op.create_index('ix_sessions_root_id_started_at_id', 'sessions', ['root_id', sa.literal_column('started_at DESC'), sa.literal_column('id DESC')], unique=False, schema='journal', postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_sessions_template_id', 'sessions', ['template_id'], unique=False, schema='journal', postgresql_where=sa.text('template_id IS NOT NULL'))
    op.create_index('ix_sessions_user_id', 'sessions', ['user_id'], unique=False, schema='journal')
    op.create_table('session_goals',
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('goal_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['goal_id', 'user_id'], ['journal.goals.id', 'journal.goals.user_id'], name='fk_session_goals_goal_id_goals', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['journal.sessions.id'], name='fk_session_goals_session_id_sessions', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'goal_id', name=op.f('pk_session_goals')),
    schema='journal'
    )
    op.create_index('ix_session_goals_goal_id', 'session_goals', ['goal_id'], unique=False, schema='journal')
    op.create_index('ix_session_goals_user_id', 'session_goals', ['user_id'], unique=False, schema='journal')
    op.create_table('activity_instances',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('activity_id', sa.Uuid(), nullable=False),
    sa.Column('time_start', _ts(), nullable=True),
    sa.Column('time_stop', _ts(), nullable=True),
    sa.Column('duration_seconds', sa.BigInteger(), nullable=True),
    sa.Column('sort_order', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('version', sa.BigInteger(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint('duration_seconds >= 0', name=op.f('ck_activity_instances_duration_non_negative')),
    sa.CheckConstraint('time_stop >= time_start', name=op.f('ck_activity_instances_stop_after_start')),
    sa.CheckConstraint('time_stop IS NULL OR time_start IS NOT NULL', name=op.f('ck_activity_instances_stop_needs_start')),
    sa.ForeignKeyConstraint(['activity_id', 'root_id', 'user_id'], ['journal.activities.id', 'journal.activities.root_id', 'journal.activities.user_id'], name='fk_activity_instances_activity_id_activities', onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id', 'root_id', 'user_id'], ['journal.sessions.id', 'journal.sessions.root_id', 'journal.sessions.user_id'], name='fk_activity_instances_session_id_sessions', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_instances')),
    sa.UniqueConstraint('id', 'root_id', 'user_id', name='uq_activity_instances_id_root_id_user_id'),
    schema='journal'
    )
    op.create_index('ix_activity_instances_activity_id', 'activity_instances', ['activity_id'], unique=False, schema='journal')
    op.create_index('ix_activity_instances_session_id_sort_order', 'activity_instances', ['session_id', 'sort_order', 'id'], unique=False, schema='journal')
    op.create_index('ix_activity_instances_user_id', 'activity_instances', ['user_id'], unique=False, schema='journal')
    op.create_table('metric_values',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('root_id', sa.Uuid(), nullable=False),
    sa.Column('instance_id', sa.Uuid(), nullable=False),
    sa.Column('metric_id', sa.Uuid(), nullable=False),
    sa.Column('split_id', sa.Uuid(), nullable=True),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('created_at', _ts(), nullable=False),
    sa.Column('updated_at', _ts(), nullable=False),
    sa.CheckConstraint("value < 'Infinity'::float8", name=op.f('ck_metric_values_value_finite')),
    sa.CheckConstraint('value >= 0', name=op.f('ck_metric_values_value_non_negative')),
    sa.ForeignKeyConstraint(['instance_id', 'root_id', 'user_id'], ['journal.activity_instances.id', 'journal.activity_instances.root_id', 'journal.activity_instances.user_id'], name='fk_metric_values_instance_id_activity_instances', onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['metric_id', 'root_id', 'user_id'], ['journal.metric_definitions.id', 'journal.metric_definitions.root_id', 'journal.metric_definitions.user_id'], name='fk_metric_values_metric_id_metric_definitions', onupdate='CASCADE', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['split_id', 'root_id', 'user_id'], ['journal.split_definitions.id', 'journal.split_definitions.root_id', 'journal.split_definitions.user_id'], name='fk_metric_values_split_id_split_definitions', onupdate='CASCADE', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_values')),
    schema='journal'
    )
    op.create_index('ix_metric_values_metric_id', 'metric_values', ['metric_id'], unique=False, schema='journal')
    op.create_index('ix_metric_values_split_id', 'metric_values', ['split_id'], unique=False, schema='journal', postgresql_where=sa.text('split_id IS NOT NULL'))
    op.create_index('ix_metric_values_user_id', 'metric_values', ['user_id'], unique=False, schema='journal')
    op.create_index('uq_metric_values_instance_metric_split', 'metric_values', ['instance_id', 'metric_id', 'split_id'], unique=True, schema='journal', postgresql_nulls_not_distinct=True)
    # ### end Alembic commands ###

    for table in TABLES:
        op.execute(f"ALTER TABLE {SCHEMA}.{table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {SCHEMA}.{table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {SCHEMA}.{table} USING ({RLS_RULE}) WITH CHECK ({RLS_RULE})"
        )
    op.execute(STATS_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS journal.goal_stats(uuid, timestamptz, timestamptz, text)")
    for table in reversed(TABLES):
        op.drop_table(table, schema=SCHEMA)
