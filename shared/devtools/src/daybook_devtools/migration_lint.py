"""squawk over each history's offline SQL: the one place its rules and exclusions are decided.

Run by every service's migration test (through :func:`daybook_devtools.testing.history.check_history`),
so a revision that would lock a live table fails the test its author runs, and by ``.ci/run``::

    uv run python -m daybook_devtools.migration_lint users journal reminders

Alembic's own ``CREATE TABLE <schema>.alembic_version (version_num VARCHAR(32) …)`` is left
out: it is created once on an empty schema and is not ours to fix.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from daybook_common.migrations import offline_sql

EXCLUDED_RULES = (
    # Keys are UUIDs; the INTEGER columns are advanced-alchemy's always-NULL sa_orm_sentinel
    # and small counters (outbox attempts, versions), never near 2^31.
    "prefer-bigint-over-int",
    # SMALLINT only for CHECK-bounded small numbers (goal depth 0..11, template positions).
    "prefer-bigint-over-smallint",
)


@dataclass(frozen=True)
class LintResult:
    service: str
    statements: int
    ok: bool
    output: str


def lintable_sql(script_location: str, schema: str) -> str:
    sql = offline_sql(script_location, schema)
    pattern = re.compile(rf"CREATE TABLE {re.escape(schema)}\.alembic_version \(.*?\);\n", re.DOTALL)
    stripped, count = pattern.subn("", sql, count=1)
    if count != 1:
        raise RuntimeError(f"{schema}: Alembic's version table statement not found; check the filter")
    return stripped


def squawk_binary() -> str:
    beside_python = Path(sysconfig.get_path("scripts")) / "squawk"
    found = str(beside_python) if beside_python.exists() else shutil.which("squawk")
    if found is None:
        raise RuntimeError("squawk not found: it comes with the dev group (squawk-cli); run uv sync")
    return found


def lint(script_location: str, schema: str) -> LintResult:
    sql = lintable_sql(script_location, schema)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{schema}.sql"
        path.write_text(sql)
        done = subprocess.run(
            [squawk_binary(), f"--exclude={','.join(EXCLUDED_RULES)}", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    return LintResult(schema, sql.count(";"), done.returncode == 0, done.stdout + done.stderr)


def lint_service(service: str) -> LintResult:
    package = importlib.import_module(f"daybook_{service}")
    return lint(package.SCRIPT_LOCATION, package.SCHEMA)


def main(argv: list[str]) -> int:
    failed = 0
    for service in argv:
        result = lint_service(service)
        print(f"-- {service}: {result.statements} statements, {'ok' if result.ok else 'FAILED'}")
        if not result.ok:
            print(result.output)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
