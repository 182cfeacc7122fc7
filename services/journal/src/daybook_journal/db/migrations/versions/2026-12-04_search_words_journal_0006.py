"""Search by word prefix, ignoring case and accents, in any language.

``q`` used to be ``search @@ websearch_to_tsquery('simple', q)`` over the generated ``search``
columns: whole words only, and "cafe" never found "Café".  Three SQL functions in the
``journal`` schema now define search (``daybook_journal.db.search`` calls them):

- ``search_fold(text)``: lower case by Unicode rules whatever the database's locale (the builtin
  ``pg_c_utf8`` collation on PostgreSQL 17+, ICU's root collation ``und-x-icu`` on 15 and 16),
  compatibility decomposition (NFKD: "ﬁ" → "fi", full-width → ASCII), then
  combining marks dropped ("é" → "e", "ệ" → "e") and the few letters that have no decomposition
  spelled out ("ł" → "l", "ß" → "ss", "æ" → "ae" …) — what ``unaccent`` does, without an
  extension the service's role could not create.
- ``search_vector(title, body)``: the ``simple`` parser and dictionary (no stemming or stop
  words, so no language is favoured) over the folded text.
- ``search_query(q)``: ``websearch_to_tsquery`` of the folded ``q`` (``word``, ``"a phrase"``,
  ``-not``, ``or``), every word as a prefix (``'croissant':* & …``).

Both ends fold the same way, so "CAFÉ", "cafe" and "Cafés" meet.  SQL-standard bodies bind
their names when created (no ``search_path`` surprises) and are IMMUTABLE, so they can back
expression GIN indexes, built CONCURRENTLY (no write lock on a live table).

The generated ``search`` columns of ``journal_0002`` stay for now: the previous release still
reads them while this one rolls out.  Their GIN indexes go (the old search falls back to the
user's rows, still correct), and a later migration drops the columns.

Revision ID: journal_0006
Revises: journal_0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "journal_0006"
down_revision: str | Sequence[str] | None = "journal_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"

# Combining marks: diacritics, their extensions and supplements, for symbols, half marks.
COMBINING_MARKS = r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"

# Collations whose lower() follows Unicode whatever the database's locale, best first:
# builtin (PostgreSQL 17+), then ICU's root locale (15 and 16 built with ICU, as Debian's are).
UNICODE_COLLATIONS = ("pg_c_utf8", "und-x-icu")


def unicode_collation() -> str:
    """The first of UNICODE_COLLATIONS the server has (the offline SQL names the first)."""
    context = op.get_context()
    if context.as_sql:
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
        f"journal search needs one of the collations {UNICODE_COLLATIONS}: PostgreSQL 17+, "
        "or 15/16 built with ICU"
    )


def fold(collation: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN translate(
    replace(replace(replace(replace(
        regexp_replace(normalize(lower(value COLLATE pg_catalog."{collation}"), NFKD), '{COMBINING_MARKS}', '', 'g'),
        'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), 'þ', 'th'),
    'łøđðħıŀŧ', 'loddhilt')
"""

VECTOR = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.search_vector(title text, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_tsvector('pg_catalog.simple'::regconfig, {SCHEMA}.search_fold(concat_ws(' ', title, body)))
"""

# websearch_to_tsquery keeps the syntax people know ("a phrase", -not, or) and parses words as the
# documents were parsed; then every lexeme of its text form ('word') gets ':*', and the text is
# read back as it is (a cast: to_tsquery would parse the lexemes again, "a-b" into a phrase).
QUERY = f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN regexp_replace(
    websearch_to_tsquery('pg_catalog.simple'::regconfig, {SCHEMA}.search_fold(q))::text,
    '''(\\s|$)', ''':*\\1', 'g'
)::tsquery
"""

# (index, table, the searched columns, the journal_0002 index it replaces)
INDEXES = (
    ("ix_journal_entries_search_words", "journal_entries", "title, content", "ix_journal_entries_search"),
    ("ix_tasks_search_words", "tasks", "title, description", "ix_tasks_search"),
)


def upgrade() -> None:
    for function in (fold(unicode_collation()), VECTOR, QUERY):
        op.execute(function)
    with op.get_context().autocommit_block():
        for name, table, columns, old in INDEXES:
            # A rerun after an interrupted build: drop its invalid index, which IF NOT EXISTS would keep.
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{name}")
            op.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {SCHEMA}.{table} "
                f"USING gin ({SCHEMA}.search_vector({columns}))"
            )
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{old}")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, _columns, old in INDEXES:
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {old} ON {SCHEMA}.{table} USING gin (search)")
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {SCHEMA}.{name}")
    for function in ("search_query(text)", "search_vector(text, text)", "search_fold(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.{function}")
