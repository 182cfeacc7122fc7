"""Give users_0002's CHECK constraints the names the models have.

users_0002 passed full names (``name="ck_users_email_shape"``) where the naming convention adds
``ck_<table>_`` again, so the database got ``ck_users_ck_users_email_shape``; the models (and
``op.f()`` in users_0004) mean ``ck_users_email_shape``.  Renaming a constraint only changes the
catalogue (no scan, no rewrite) but takes a brief ACCESS EXCLUSIVE lock on each table, so a short
lock_timeout makes the migration fail fast rather than queue behind a long transaction (and,
queued, block every query behind it).  The names are spelled out, not reflected, so the offline
SQL (squawk's input) shows them.

Revision ID: users_0005
Revises: users_0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "users_0005"
down_revision: str | Sequence[str] | None = "users_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "users"
LOCK_TIMEOUT = "2s"
# squawk's renaming-object warns that clients may use the old name: nothing uses these (the
# app matches no CHECK by name), and the new name is the one the models always meant.
SQUAWK_IGNORE = "-- squawk-ignore renaming-object"
#: (table, the model's name); users_0002 made each ``ck_<table>_<the model's name>``.
CHECKS = (
    ("users", "ck_users_avatar_url_shape"),
    ("users", "ck_users_email_shape"),
    ("users", "ck_users_deleted_is_inactive"),
    ("users", "ck_users_email_normalised"),
    ("users", "ck_users_full_name_length"),
    ("users", "ck_users_has_credential"),
    ("refresh_tokens", "ck_refresh_tokens_expires_after_created"),
    ("refresh_tokens", "ck_refresh_tokens_token_hash_length"),
    ("refresh_tokens", "ck_refresh_tokens_user_agent_length"),
    ("login_throttles", "ck_login_throttles_scope_known"),
    ("login_throttles", "ck_login_throttles_failures_positive"),
    ("login_throttles", "ck_login_throttles_key_digest_length"),
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
