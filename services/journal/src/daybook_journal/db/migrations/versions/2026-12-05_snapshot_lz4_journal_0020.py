"""``sessions.activities_json`` compressed with lz4 instead of pglz, where the server has lz4.

A session's snapshot is ~3.1 KB of JSON, over the ~2 KB at which PostgreSQL compresses a row's
values, so each one is stored compressed (pglz, the default, to ~1.3 KB) and a sessions page
of 20 decompresses ~62 KB.  lz4 decompresses several times faster at about the same size:
measured on PostgreSQL 15 with 40,000 of the bench's snapshots, fetching 20 by id cost the
server ~250 µs of CPU with pglz and ~200 µs with lz4 (uncompressed out of line, ``STORAGE
EXTERNAL``: ~320 µs, worse; the table 5 % bigger with lz4).

Only where the server is built with lz4: the official images and Debian's packages are, the
embedded PostgreSQL wheel of the tests, the bench and ``daybook up`` is not (its
``default_toast_compression`` offers only ``pglz``), and ``SET COMPRESSION lz4`` would fail
there; this revision then changes nothing.  It changes how **new** values are written: a stored
value keeps pglz until the service writes that session's snapshot again (any change to its
activities); neither ``VACUUM FULL`` nor a dump restored into the same column recompresses.

Safe on a live table: ``SET COMPRESSION`` is a catalogue change (no rewrite, no scan) under an
ACCESS EXCLUSIVE lock for that moment, bounded by ``lock_timeout``.  The downgrade puts the
column back on the server's default (``default_toast_compression``), the same way.

Revision ID: journal_0020
Revises: journal_0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "journal_0020"
down_revision: str | Sequence[str] | None = "journal_0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "journal"
ALTER = f"ALTER TABLE {SCHEMA}.sessions ALTER COLUMN activities_json SET COMPRESSION"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(f"""
DO $lz4$
BEGIN
    IF EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        {ALTER} lz4;
    END IF;
END
$lz4$
""")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(f"{ALTER} DEFAULT")
