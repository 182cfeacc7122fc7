"""``idempotency_keys``: the shared table shape of ``daybook_common.idempotency``.

The one thing journal's table lacked is the check that a request hash is a sha256 (32
bytes), which every hash the service ever wrote is. Added ``NOT VALID`` (a brief lock, no
scan) and validated in a second statement (a scan that blocks no writes).

Revision ID: journal_0010
Revises: journal_0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "journal_0010"
down_revision: str | Sequence[str] | None = "journal_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ck_idempotency_keys_request_hash_length"


def upgrade() -> None:
    op.execute(
        "-- squawk-ignore prefer-robust-stmts\n"
        f"ALTER TABLE journal.idempotency_keys ADD CONSTRAINT {NAME} "
        "CHECK (octet_length(request_hash) = 32) NOT VALID"
    )
    with op.get_context().autocommit_block():
        # Its own transaction, so the scan does not hold the ADD's lock. squawk takes every
        # statement after the history's first CONCURRENTLY for one outside a transaction;
        # validating a valid constraint does nothing, so this one is re-runnable as is.
        op.execute(
            f"-- squawk-ignore prefer-robust-stmts\nALTER TABLE journal.idempotency_keys VALIDATE CONSTRAINT {NAME}"
        )


def downgrade() -> None:
    op.execute(f"ALTER TABLE journal.idempotency_keys DROP CONSTRAINT {NAME}")
