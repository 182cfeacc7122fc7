"""``daybook_devtools.migration_dry_run`` on a made-up history: rows touched by data steps, the
autocommit revision skipped with its reason, a failure stopping the trial, and nothing kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from daybook_devtools.migration_dry_run import dry_run
from daybook_devtools.testing.databases import TestDatabase

SCHEMA = "dry_trial"
REVISIONS = {
    "t1": (
        None,
        'op.execute("CREATE TABLE dry_trial.numbers (id int PRIMARY KEY, n int NOT NULL)")\n'
        '    op.execute("INSERT INTO dry_trial.numbers SELECT i, i FROM generate_series(1, 10) i")',
    ),
    "t2": ("t1", 'op.execute("UPDATE dry_trial.numbers SET n = n + 1 WHERE id <= 4")'),
    "t3": (
        "t2",
        "with op.get_context().autocommit_block():\n"
        '        op.execute("CREATE INDEX CONCURRENTLY ix_n ON dry_trial.numbers (n)")',
    ),
    "t4": ("t3", 'op.execute("ALTER TABLE dry_trial.no_such_table ADD COLUMN x int")'),
    "t5": ("t4", 'op.execute("DROP TABLE dry_trial.numbers")'),
}


def _history(root: Path) -> str:
    versions = root / "versions"
    versions.mkdir(parents=True)
    (root / "script.py.mako").write_text("")
    for revision, (down, body) in REVISIONS.items():
        (versions / f"{revision}.py").write_text(
            f'"""Step {revision}."""\n'
            "from alembic import op\n\n"
            f"revision = {revision!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade() -> None:\n    {body}\n\n\ndef downgrade() -> None:\n    pass\n"
        )
    return str(root)


async def _scalar(database: TestDatabase, sql: str) -> object:
    conn = await database.admin_connect()
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


@pytest.fixture
def history(tmp_path: Path, fresh_database: TestDatabase) -> str:
    asyncio.run(_scalar(fresh_database, f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    return _history(tmp_path / "history")


def test_each_revision_is_tried_reported_and_rolled_back(history: str, fresh_database: TestDatabase) -> None:
    admin = fresh_database.admin_dsn()
    result = dry_run(history, admin, SCHEMA, role=make_url(admin).username)
    assert (result.current, result.head) == (None, "t5")
    t1, t2, t3, t4 = result.trials
    assert (t1.revision, t1.rows, t1.error, t1.skipped) == ("t1", 10, None, None)
    assert [s.rows for s in t1.statements if s.sql.startswith("INSERT")] == [10]
    assert any(s.sql.startswith("CREATE TABLE dry_trial.numbers") and s.rows is None for s in t1.statements)
    assert (t2.rows, t2.error) == (4, None)
    assert t3.skipped is not None and "outside a transaction" in t3.skipped and not t3.statements
    assert t4.error is not None and "no_such_table" in t4.error
    assert result.not_tried == ["t5"]
    assert all(s.seconds >= 0 for t in (t1, t2) for s in t.statements)
    assert asyncio.run(_scalar(fresh_database, "SELECT to_regclass('dry_trial.numbers')")) is None
    assert asyncio.run(_scalar(fresh_database, "SELECT to_regclass('dry_trial.alembic_version')")) is None
