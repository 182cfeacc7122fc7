"""Print a service's offline migration SQL for squawk, without Alembic's own version table.

``CREATE TABLE <schema>.alembic_version (version_num VARCHAR(32) …)`` is Alembic's, created once
on an empty schema; its VARCHAR and missing IF NOT EXISTS are not ours to fix.  Every other
statement is linted.

    uv run python .ci/offline_sql.py journal > journal.sql
"""

from __future__ import annotations

import importlib
import re
import sys

from daybook_common.migrations import offline_sql


def lintable_sql(service: str) -> str:
    package = importlib.import_module(f"daybook_{service}")
    sql = offline_sql(package.SCRIPT_LOCATION, package.SCHEMA)
    pattern = re.compile(rf"CREATE TABLE {re.escape(package.SCHEMA)}\.alembic_version \(.*?\);\n", re.DOTALL)
    stripped, count = pattern.subn("", sql, count=1)
    if count != 1:
        raise SystemExit(f"{service}: Alembic's version table statement not found; check the filter")
    return stripped


if __name__ == "__main__":
    sys.stdout.write(lintable_sql(sys.argv[1]))
