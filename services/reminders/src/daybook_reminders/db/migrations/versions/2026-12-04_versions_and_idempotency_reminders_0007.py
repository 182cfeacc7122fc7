"""One ETag scheme and one idempotency table for every service (``daybook_common.http`` and
``daybook_common.idempotency``).

- ``reminders.version``: the reminder's version counter, its ETag (it was a hash of
  ``updated_at``); every change bumps it. Added with a constant default: no table rewrite.
- ``idempotency_keys`` takes the shared shape: ``request_hash`` as the 32 bytes of the sha256
  (it was its hex text), ``response_body`` as bytes, the replayed headers as
  ``response_headers`` jsonb (``Location`` was its own column), no server default on
  ``created_at`` (the app sets it). The type changes rewrite the table under its lock: it
  holds only the last 24 h of keys (the scheduler purges older ones), so the rewrite is
  short, and ``lock_timeout`` gives up rather than queueing writes behind it.

Revision ID: reminders_0007
Revises: reminders_0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reminders_0007"
down_revision: str | Sequence[str] | None = "reminders_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"
KEYS = f"{SCHEMA}.idempotency_keys"
HASH_CHECK = "ck_idempotency_keys_request_hash_length"
# The rewrite is of a small, short-lived table (see above); nothing reads ``location`` once the
# app that writes ``response_headers`` is serving (migrations run before ``serve``).
SQUAWK_IGNORE = "-- squawk-ignore changing-column-type, ban-drop-column, ban-drop-default, prefer-robust-stmts"
# squawk reads the whole history as one file and, after reminders_0006's CONCURRENTLY, takes
# every statement for one outside a transaction; these run inside the revision's (all or none).
ROBUST = "-- squawk-ignore prefer-robust-stmts\n"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.execute(f"{ROBUST}ALTER TABLE {SCHEMA}.reminders ADD COLUMN version bigint DEFAULT 1 NOT NULL")
    op.execute(f"{ROBUST}ALTER TABLE {KEYS} ADD COLUMN response_headers jsonb")
    op.execute(
        f"{ROBUST}UPDATE {KEYS} SET response_headers = jsonb_build_object('Location', location) "
        "WHERE location IS NOT NULL"
    )
    op.execute(
        f"{SQUAWK_IGNORE}\nALTER TABLE {KEYS} "
        "ALTER COLUMN request_hash TYPE bytea USING decode(request_hash, 'hex'), "
        "ALTER COLUMN response_body TYPE bytea USING convert_to(response_body, 'UTF8'), "
        "ALTER COLUMN created_at DROP DEFAULT, "
        "DROP COLUMN location"
    )
    op.execute(
        f"{ROBUST}ALTER TABLE {KEYS} ADD CONSTRAINT {HASH_CHECK} CHECK (octet_length(request_hash) = 32) NOT VALID"
    )
    with op.get_context().autocommit_block():
        # Its own transaction: validating in the one that added the constraint would hold the
        # ADD's lock for the whole scan. Re-runnable: validating a valid constraint does nothing.
        op.execute("SET lock_timeout = '2s'")
        op.execute(f"{ROBUST}ALTER TABLE {KEYS} VALIDATE CONSTRAINT {HASH_CHECK}")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.execute(f"{ROBUST}ALTER TABLE {KEYS} DROP CONSTRAINT {HASH_CHECK}")
    op.execute(f"{ROBUST}ALTER TABLE {KEYS} ADD COLUMN location text")
    op.execute(f"{ROBUST}UPDATE {KEYS} SET location = response_headers ->> 'Location'")
    op.execute(
        f"{SQUAWK_IGNORE}\nALTER TABLE {KEYS} "
        "ALTER COLUMN request_hash TYPE text USING encode(request_hash, 'hex'), "
        "ALTER COLUMN response_body TYPE text USING convert_from(response_body, 'UTF8'), "
        "ALTER COLUMN created_at SET DEFAULT now(), "
        "DROP COLUMN response_headers"
    )
    op.execute(f"{SQUAWK_IGNORE}\nALTER TABLE {SCHEMA}.reminders DROP COLUMN version")
