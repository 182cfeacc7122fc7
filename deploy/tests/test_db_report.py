"""``daybook db report``: what it finds on a schema made to have each finding, and main's schemas clean."""

from __future__ import annotations

import asyncio

from daybook_deploy.dbreport import collect, render
from daybook_devtools.testing.databases import TestDatabase
from daybook_journal import SCHEMA as JOURNAL
from daybook_journal import SCRIPT_LOCATION as JOURNAL_MIGRATIONS
from daybook_reminders import SCHEMA as REMINDERS
from daybook_reminders import SCRIPT_LOCATION as REMINDERS_MIGRATIONS
from daybook_users import SCHEMA as USERS
from daybook_users import SCRIPT_LOCATION as USERS_MIGRATIONS

FIXTURE_SCHEMA = """
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id uuid PRIMARY KEY, user_id uuid NOT NULL, UNIQUE (user_id, id));
CREATE TABLE shop.orders (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    customer_id uuid NOT NULL REFERENCES shop.customers (id),
    deleted_at timestamptz
);
CREATE INDEX ix_orders_live_customer ON shop.orders (customer_id) WHERE deleted_at IS NULL;
CREATE TABLE shop.invoices (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    customer_id uuid,
    FOREIGN KEY (user_id, customer_id) REFERENCES shop.customers (user_id, id)
);
CREATE INDEX ix_invoices_customer ON shop.invoices (customer_id) WHERE customer_id IS NOT NULL;
CREATE TABLE shop.notes (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    customer_id uuid NOT NULL,
    FOREIGN KEY (user_id, customer_id) REFERENCES shop.customers (user_id, id)
);
CREATE INDEX ix_notes_user ON shop.notes (user_id);
CREATE INDEX ix_notes_user_again ON shop.notes (user_id);
CREATE INDEX ix_notes_user_id_id ON shop.notes (user_id, id);
"""


def test_foreign_keys_without_an_index_and_duplicate_indexes_are_defects(
    fresh_database: TestDatabase,
) -> None:
    async def arrange() -> None:
        conn = await fresh_database.admin_connect()
        try:
            await conn.execute(FIXTURE_SCHEMA)
        finally:
            await conn.close()

    asyncio.run(arrange())
    report = asyncio.run(collect(fresh_database.admin_dsn(), ["shop"]))
    (shop,) = report.schemas
    # orders: only a partial index that misses deleted rows; notes: only the scoping column user_id.
    # invoices: an index on the id with "IS NOT NULL" serves the check.
    assert {(f["table"], tuple(f["columns"])) for f in shop.unindexed_foreign_keys} == {
        ("orders", ("customer_id",)),
        ("notes", ("user_id", "customer_id")),
    }
    assert shop.duplicate_indexes == [{"table": "notes", "indexes": ["ix_notes_user", "ix_notes_user_again"]}]
    assert len(report.defects) == 3
    assert report.statements_available  # the embedded server loads pg_stat_statements
    text = "\n".join(render(report))
    assert "shop.notes: duplicate indexes ix_notes_user, ix_notes_user_again" in text
    assert "orders.orders_customer_id_fkey (customer_id)" in text
    assert "== 3 defect(s):" in text


def test_the_services_schemas_have_no_defect(fresh_database: TestDatabase) -> None:
    """What CI's ``daybook db report --check`` asserts, on every history at head."""
    for schema, location in (
        (USERS, USERS_MIGRATIONS),
        (JOURNAL, JOURNAL_MIGRATIONS),
        (REMINDERS, REMINDERS_MIGRATIONS),
    ):
        fresh_database.migrate(schema, location)
    report = asyncio.run(collect(fresh_database.admin_dsn(), [USERS, JOURNAL, REMINDERS]))
    assert report.defects == []
    assert [s.schema for s in report.schemas] == [USERS, JOURNAL, REMINDERS]
