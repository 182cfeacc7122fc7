"""Give reminders_0002's CHECK constraints the names the models have.

reminders_0002 passed full names (``name="ck_reminders_title_length"``) where the naming
convention adds ``ck_<table>_`` again, so the database got ``ck_reminders_ck_reminders_title_length``;
the models mean ``ck_reminders_title_length``.  Renaming a constraint only changes the catalogue
(no scan, no rewrite) but takes a brief ACCESS EXCLUSIVE lock on each table, so a short
lock_timeout makes the migration fail fast rather than queue behind a long transaction (and,
queued, block every query behind it).  The names are spelled out, not reflected, so the offline
SQL (squawk's input) shows them.

Revision ID: reminders_0003
Revises: reminders_0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reminders_0003"
down_revision: str | Sequence[str] | None = "reminders_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "reminders"
LOCK_TIMEOUT = "2s"
# squawk's renaming-object warns that clients may use the old name: nothing uses these (the
# app matches no CHECK by name), and the new name is the one the models always meant.
SQUAWK_IGNORE = "-- squawk-ignore renaming-object"
#: (table, the model's name); reminders_0002 made each ``ck_<table>_<the model's name>``.
CHECKS = (
    ("reminders", "ck_reminders_title_length"),
    ("reminders", "ck_reminders_message_length"),
    ("reminders", "ck_reminders_frequency_known"),
    ("reminders", "ck_reminders_timezone_length"),
    ("reminders", "ck_reminders_time_whole_minute"),
    ("reminders", "ck_reminders_custom_days_iff_custom"),
    ("reminders", "ck_reminders_custom_days_valid"),
    ("reminders", "ck_reminders_inactive_not_scheduled"),
    ("reminders", "ck_reminders_deleted_not_scheduled"),
    ("notifications", "ck_notifications_title_length"),
    ("notifications", "ck_notifications_message_length"),
    ("idempotency_keys", "ck_idempotency_keys_key_length"),
)


def _rename(old_to_new: bool) -> None:
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
    for table, name in CHECKS:
        doubled = f"ck_{table}_{name}"
        old, new = (doubled, name) if old_to_new else (name, doubled)
        op.execute(f"{SQUAWK_IGNORE}\nALTER TABLE {SCHEMA}.{table} RENAME CONSTRAINT {old} TO {new}")


def upgrade() -> None:
    _rename(old_to_new=True)


def downgrade() -> None:
    _rename(old_to_new=False)
