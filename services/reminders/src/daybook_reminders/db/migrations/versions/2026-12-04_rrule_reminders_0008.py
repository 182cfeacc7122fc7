"""``frequency: "rrule"``: a reminder's RFC 5545 rule as text (``reminders.rrule``).

- ``rrule text`` (nullable, no default: a catalogue-only change);
- ``ck_reminders_frequency_known`` admits ``rrule`` (dropped and re-added);
- ``ck_reminders_rrule_iff_rrule``: a rule exactly when the frequency is ``rrule``;
- ``ck_reminders_rrule_shape``: at most 500 characters of the known parts, upper case.

The new CHECKs are added ``NOT VALID`` under a short ``lock_timeout`` and validated in their own
transaction (a scan that blocks no writes). The constants are spelled out, not imported, so the
revision stays what it was when the models move on.

Downgrade refuses while rrule reminders exist: the older schema cannot hold them, and dropping
users' reminders silently is not a downgrade.

Revision ID: reminders_0008
Revises: reminders_0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "reminders_0008"
down_revision: str | Sequence[str] | None = "reminders_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "reminders.reminders"
OLD_FREQUENCIES = "'once', 'daily', 'weekdays', 'weekends', 'weekly', 'monthly', 'custom'"
NEW_FREQUENCIES = f"{OLD_FREQUENCIES}, 'rrule'"
PARTS = "(FREQ|INTERVAL|BYDAY|BYMONTHDAY|BYMONTH|BYSETPOS|COUNT|UNTIL)"
PATTERN = f"^{PARTS}=[0-9A-Z,+-]+(;{PARTS}=[0-9A-Z,+-]+)*$"
CHECKS = {
    "ck_reminders_rrule_iff_rrule": "(frequency = 'rrule') = (rrule IS NOT NULL)",
    "ck_reminders_rrule_shape": f"rrule IS NULL OR (char_length(rrule) <= 500 AND rrule ~ '{PATTERN}')",
}
# squawk reads the whole history as one file and, after reminders_0006's CONCURRENTLY, takes
# every statement for one outside a transaction; these run inside the revision's (all or none).
ROBUST = "-- squawk-ignore prefer-robust-stmts\n"


# The frequency CHECK is replaced in the same transaction by one of a different list: no moment
# without a guarantee.
REPLACED = "-- squawk-ignore ban-drop-constraint, prefer-robust-stmts\n"


def _replace_frequency_check(frequencies: str) -> None:
    op.execute(f"{REPLACED}ALTER TABLE {TABLE} DROP CONSTRAINT ck_reminders_frequency_known")
    op.execute(
        f"{ROBUST}ALTER TABLE {TABLE} ADD CONSTRAINT ck_reminders_frequency_known "
        f"CHECK (frequency IN ({frequencies})) NOT VALID"
    )


def _validate(names: Sequence[str]) -> None:
    with op.get_context().autocommit_block():
        # Their own transaction: validating in the one that added them would hold the ADD's
        # lock for the whole scan. Re-runnable: validating a valid constraint does nothing.
        op.execute("SET lock_timeout = '2s'")
        for name in names:
            op.execute(f"{ROBUST}ALTER TABLE {TABLE} VALIDATE CONSTRAINT {name}")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.execute(f"{ROBUST}ALTER TABLE {TABLE} ADD COLUMN rrule text")
    _replace_frequency_check(NEW_FREQUENCIES)
    for name, check in CHECKS.items():
        op.execute(f"{ROBUST}ALTER TABLE {TABLE} ADD CONSTRAINT {name} CHECK ({check}) NOT VALID")
    _validate(["ck_reminders_frequency_known", *CHECKS])


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '2s'")
    op.execute(
        f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM {TABLE} WHERE frequency = 'rrule') THEN "
        "RAISE EXCEPTION 'rrule reminders exist; the schema before reminders_0008 cannot hold them'; "
        "END IF; END $$"
    )
    for name in CHECKS:
        op.execute(f"{ROBUST}ALTER TABLE {TABLE} DROP CONSTRAINT {name}")
    _replace_frequency_check(OLD_FREQUENCIES)
    # squawk: nothing reads the column once the code of the previous revision serves.
    op.execute(f"-- squawk-ignore ban-drop-column, prefer-robust-stmts\nALTER TABLE {TABLE} DROP COLUMN rrule")
    _validate(["ck_reminders_frequency_known"])
