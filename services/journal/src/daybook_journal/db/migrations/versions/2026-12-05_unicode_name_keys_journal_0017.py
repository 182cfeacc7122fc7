"""Case-insensitive name uniqueness for every script, not just ASCII.

The unique indexes on ``lower(name)`` (tags per user; activity groups, activities and templates
per tree; metric and split definitions per activity) let "École" and "école" both in: under the
database's collation "C", ``lower()`` folds ASCII only; nor did they equate the NFC and NFD
spellings of one name.  They are replaced by unique indexes on ``journal.name_key(name)``:

- ``name_key(text)`` = ``normalize(lower(name COLLATE <Unicode collation>), NFC)``: lower case by
  Unicode's simple mappings whatever the database's locale (the builtin ``pg_c_utf8`` on
  PostgreSQL 17+, ICU's root ``und-x-icu`` on 15 and 16, as ``search_fold`` of journal_0006),
  then canonical composition, so "École", "école" and "E\\u0301cole" share one key.
  IMMUTABLE (a SQL-standard body, names bound at creation), so it can back an index.
- Not equated: "Straße" and "STRASSE" (``lower()`` maps letter to letter; full case folding
  "ß" → "ss" is ``casefold()``, PostgreSQL 18 only) and letters that only look alike.
- Names are stored as typed; only the key is normalized.

Before the new indexes are built, rows that would collide (same scope and key, among live rows
where the index is partial) are renamed deterministically: the oldest (``created_at, id``) keeps
its name, each later one, in that order, gets " (n)" appended with the smallest n >= 2 whose
key is free in its scope (the name cut to fit its length limit), ``version`` and ``updated_at``
bumped (checked one row at a time, so no rename trips the old index meanwhile).  Renamed tags are rewritten
in the ``tags`` lists of the entries carrying them.  No events are published for these renames.
A downgrade does not undo them.

The indexes are built ``CONCURRENTLY`` (no write lock on the live tables); the old ones are
dropped after.  A write by the previous release between the renames and a build can still
collide: the build then fails, and a rerun drops its invalid index and renames again.

Revision ID: journal_0017
Revises: journal_0016
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "journal_0017"
down_revision: str | Sequence[str] | None = "journal_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"

# Collations whose lower() follows Unicode whatever the database's locale, best first (as in
# journal_0006): builtin (PostgreSQL 17+), then ICU's root locale (15 and 16 built with ICU).
UNICODE_COLLATIONS = ("pg_c_utf8", "und-x-icu")

LIVE = "deleted_at IS NULL"

# (table, scope column, name length limit, partial index predicate or None)
TABLES = (
    ("tags", "user_id", 50, None),
    ("activity_groups", "root_id", 100, None),
    ("activities", "root_id", 100, LIVE),
    ("metric_definitions", "activity_id", 100, LIVE),
    ("split_definitions", "activity_id", 100, LIVE),
    ("session_templates", "root_id", 100, None),
)


def unicode_collation() -> str:
    """The first of UNICODE_COLLATIONS the server has (the offline SQL names the first)."""
    if op.get_context().as_sql:
        return UNICODE_COLLATIONS[0]
    found = {
        name
        for (name,) in op.get_bind().execute(
            sa.text("SELECT collname FROM pg_catalog.pg_collation WHERE collname = ANY(:names)"),
            {"names": list(UNICODE_COLLATIONS)},
        )
    }
    for name in UNICODE_COLLATIONS:
        if name in found:
            return name
    raise RuntimeError(
        f"journal name keys need one of the collations {UNICODE_COLLATIONS}: PostgreSQL 17+, "
        "or 15/16 built with ICU"
    )


def name_key(collation: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.name_key(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN normalize(lower(name COLLATE pg_catalog."{collation}"), NFC)
"""


def new_index(table: str, scope: str) -> str:
    return f"uq_{table}_{scope}_name_key"


def old_index(table: str, scope: str) -> str:
    return f"uq_{table}_{scope}_lower_name"


def rename_loop(table: str, scope: str, limit: int, where: str | None) -> str:
    """PL/pgSQL renaming, one row at a time, every duplicate of a key but the oldest."""
    live = f"WHERE {where}" if where else ""
    keep = "renamed_tags := renamed_tags || r.id;" if table == "tags" else ""
    return f"""
    FOR r IN
        SELECT id, scope, name FROM (
            SELECT id, {scope} AS scope, name, created_at, row_number() OVER (
                PARTITION BY {scope}, {SCHEMA}.name_key(name) ORDER BY created_at, id
            ) AS k
            FROM {SCHEMA}.{table} {live}
        ) AS ranked
        WHERE k > 1 ORDER BY scope, created_at, id
    LOOP
        n := 2;
        LOOP
            candidate := left(r.name, {limit} - char_length(' (' || n || ')')) || ' (' || n || ')';
            EXIT WHEN NOT EXISTS (
                SELECT 1 FROM {SCHEMA}.{table}
                WHERE {scope} = r.scope AND {SCHEMA}.name_key(name) = {SCHEMA}.name_key(candidate)
            );
            n := n + 1;
        END LOOP;
        UPDATE {SCHEMA}.{table} SET name = candidate, version = version + 1, updated_at = now()
        WHERE id = r.id;
        {keep}
    END LOOP;"""


#: The entry's tag list as the app keeps it (``tag_lists``): ``{id, name, color}`` by ``lower(name), id``.
TAG_LIST = f"""
    SELECT coalesce(
        jsonb_agg(jsonb_build_object('id', t.id, 'name', t.name, 'color', t.color) ORDER BY lower(t.name), t.id),
        '[]'::jsonb
    )
    FROM {SCHEMA}.journal_entry_tags AS l JOIN {SCHEMA}.tags AS t ON t.id = l.tag_id
    WHERE l.entry_id = e.id
"""


def renames() -> str:
    """A DO block: rename the colliding rows of every table, then fix the renamed tags' entries."""
    body = "".join(rename_loop(*spec) for spec in TABLES)
    return f"""
DO $renames$
DECLARE
    r record;
    n integer;
    candidate text;
    renamed_tags uuid[] := '{{}}';
BEGIN
    PERFORM set_config('app.rls_bypass', 'on', true);
    {body}
    UPDATE {SCHEMA}.journal_entries AS e SET tags = ({TAG_LIST})
    WHERE e.id IN (SELECT entry_id FROM {SCHEMA}.journal_entry_tags WHERE tag_id = ANY (renamed_tags));
END
$renames$
"""


def upgrade() -> None:
    op.execute(name_key(unicode_collation()))
    op.execute(renames())
    with op.get_context().autocommit_block():
        for table, scope, _limit, where in TABLES:
            name = new_index(table, scope)
            predicate = f" WHERE {where}" if where else ""
            # A rerun after an interrupted build: drop its invalid index, which IF NOT EXISTS would keep.
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{name}")
            op.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {SCHEMA}.{table} "
                f"({scope}, {SCHEMA}.name_key(name)){predicate}"
            )
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{old_index(table, scope)}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table, scope, _limit, where in TABLES:
            predicate = f" WHERE {where}" if where else ""
            op.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {old_index(table, scope)} "
                f"ON {SCHEMA}.{table} ({scope}, lower(name)){predicate}"
            )
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{new_index(table, scope)}")
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.name_key(text)")
