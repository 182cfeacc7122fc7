"""``outbox.headers``: the trace context and request id of the change that wrote the event.

The relay publishes them as NATS headers (``traceparent``, ``tracestate``, ``X-Request-ID``), so a
consumer's work is a child span of the request that caused it and logs its request id. Nullable
without a default: a catalog-only change under a brief lock; rows written before it have none.

Revision ID: reminders_0013
Revises: reminders_0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reminders_0013"
down_revision: str | Sequence[str] | None = "reminders_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.execute(f"ALTER TABLE {SCHEMA}.outbox ADD COLUMN IF NOT EXISTS headers jsonb")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.execute(f"ALTER TABLE {SCHEMA}.outbox DROP COLUMN IF EXISTS headers")
