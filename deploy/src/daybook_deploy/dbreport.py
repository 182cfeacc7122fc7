"""``daybook db report [--check]``: the database's health, per service schema.

Read from PostgreSQL's own statistics (``pg_stat_statements``, ``pg_stat_user_tables``,
``pg_stat_user_indexes``, ``pg_statio_user_tables``, ``pg_stat_activity``) and catalogs, as the
superuser. ``--check`` fails on what the project treats as defects: a foreign key without an
index that starts with its columns (every delete of a parent row scans the child table; erasure
deletes parents) and two indexes that are the same (twice the writes for nothing). The rest is
advice: it depends on the workload the statistics saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

#: Statements listed per schema, by total and by mean time.
TOP = 5
#: Tables smaller than this are read sequentially on purpose: not worth a line.
SEQ_SCAN_MIN_ROWS = 1000
DEAD_RATIO = 0.2
DEAD_MIN_ROWS = 1000
LONG_TRANSACTION = "5 minutes"

TOP_STATEMENTS = """
SELECT left(regexp_replace(s.query, '\\s+', ' ', 'g'), 160) AS query, s.calls,
       round(s.total_exec_time::numeric, 1) AS total_ms, round(s.mean_exec_time::numeric, 3) AS mean_ms
FROM pg_stat_statements AS s
JOIN pg_roles AS r ON r.oid = s.userid
WHERE r.rolname = $1 AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY {order} DESC
LIMIT $2
"""
UNUSED_INDEXES = """
SELECT i.relname AS table, i.indexrelname AS index, pg_size_pretty(pg_relation_size(i.indexrelid)) AS size
FROM pg_stat_user_indexes AS i JOIN pg_index AS x ON x.indexrelid = i.indexrelid
WHERE i.schemaname = $1 AND i.idx_scan = 0 AND NOT x.indisunique AND NOT x.indisprimary
ORDER BY pg_relation_size(i.indexrelid) DESC, 1, 2
"""
# Same table, columns, operator classes, collations, expressions and predicate: the same index.
DUPLICATE_INDEXES = """
SELECT t.relname AS table, array_agg(c.relname::text ORDER BY c.relname) AS indexes
FROM pg_index AS x
JOIN pg_class AS c ON c.oid = x.indexrelid
JOIN pg_class AS t ON t.oid = x.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE n.nspname = $1
GROUP BY t.relname, x.indrelid, x.indkey::text, x.indclass::text, x.indcollation::text,
         coalesce(pg_get_expr(x.indexprs, x.indrelid), ''), coalesce(pg_get_expr(x.indpred, x.indrelid), '')
HAVING count(*) > 1
ORDER BY 1
"""
# A foreign key is covered by an index that starts with its columns (any order), or that starts
# with one of its referencing ids: the journal's keys carry the owner's scoping columns (user_id,
# root_id) besides the id, and an index on the id alone finds the few referencing rows. A partial
# index counts when its predicate is only "<key column> IS NOT NULL" (what a nullable reference
# is indexed with; the check never looks for NULLs).
SCOPING_COLUMNS = ("user_id", "root_id")
FOREIGN_KEYS_WITHOUT_INDEX = """
SELECT t.relname AS table, c.conname AS constraint,
       (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute AS a
        WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)) AS columns
FROM pg_constraint AS c
JOIN pg_class AS t ON t.oid = c.conrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE c.contype = 'f' AND n.nspname = $1
  AND NOT EXISTS (
      SELECT 1
      FROM pg_index AS x
      JOIN pg_attribute AS lead ON lead.attrelid = x.indrelid AND lead.attnum = x.indkey[0]
      WHERE x.indrelid = c.conrelid
        AND (x.indpred IS NULL
             OR pg_get_expr(x.indpred, x.indrelid) ~ ('^\\(?(' || (
                 SELECT string_agg(a.attname::text, '|') FROM pg_attribute AS a
                 WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)) || ') IS NOT NULL\\)?$'))
        AND (((x.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
              AND (x.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
             OR (lead.attnum = ANY (c.conkey) AND lead.attname <> ALL ($2::text[])))
  )
ORDER BY 1, 2
"""
SEQUENTIAL_TABLES = """
SELECT relname AS table, seq_scan, coalesce(idx_scan, 0) AS idx_scan, n_live_tup AS rows
FROM pg_stat_user_tables
WHERE schemaname = $1 AND n_live_tup >= $2 AND seq_scan > coalesce(idx_scan, 0)
ORDER BY seq_scan DESC
"""
CACHE_HIT = """
SELECT sum(heap_blks_hit) AS hit, sum(heap_blks_read) AS read
FROM pg_statio_user_tables WHERE schemaname = $1
"""
DEAD_TUPLES = """
SELECT relname AS table, n_live_tup AS live, n_dead_tup AS dead,
       round(n_dead_tup::numeric / nullif(n_live_tup + n_dead_tup, 0), 2) AS ratio, last_autovacuum
FROM pg_stat_user_tables
WHERE schemaname = $1 AND n_dead_tup >= $2 AND n_dead_tup::numeric / nullif(n_live_tup + n_dead_tup, 0) >= $3
ORDER BY n_dead_tup DESC
"""
LONG_TRANSACTIONS = f"""
SELECT pid, usename AS role, state, round(extract(epoch FROM now() - xact_start)) AS seconds,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
FROM pg_stat_activity
WHERE datname = current_database() AND xact_start < now() - interval '{LONG_TRANSACTION}'
ORDER BY xact_start
"""


@dataclass
class SchemaReport:
    schema: str
    top_total: list[dict[str, Any]] = field(default_factory=list)
    top_mean: list[dict[str, Any]] = field(default_factory=list)
    unused_indexes: list[dict[str, Any]] = field(default_factory=list)
    duplicate_indexes: list[dict[str, Any]] = field(default_factory=list)
    unindexed_foreign_keys: list[dict[str, Any]] = field(default_factory=list)
    sequential_tables: list[dict[str, Any]] = field(default_factory=list)
    cache_hit_ratio: float | None = None
    dead_tuples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def defects(self) -> list[str]:
        """What ``--check`` fails on."""
        found = [
            f"{self.schema}.{fk['table']}: foreign key {fk['constraint']} ({', '.join(fk['columns'])}) has no index"
            for fk in self.unindexed_foreign_keys
        ]
        found += [
            f"{self.schema}.{d['table']}: duplicate indexes {', '.join(d['indexes'])}"
            for d in self.duplicate_indexes
        ]
        return found


@dataclass
class Report:
    statements_available: bool
    schemas: list[SchemaReport]
    long_transactions: list[dict[str, Any]]

    @property
    def defects(self) -> list[str]:
        return [defect for schema in self.schemas for defect in schema.defects]


async def collect(dsn: str, schemas: list[str]) -> Report:
    """Everything the report prints, from a superuser connection to the stack's database."""
    conn: asyncpg.Connection = await asyncpg.connect(dsn, timeout=10)
    try:
        statements = await _statements_available(conn)
        reports = []
        for schema in schemas:
            r = SchemaReport(schema)
            if statements:
                r.top_total = await _rows(conn, TOP_STATEMENTS.format(order="s.total_exec_time"), schema, TOP)
                r.top_mean = await _rows(conn, TOP_STATEMENTS.format(order="s.mean_exec_time"), schema, TOP)
            r.unused_indexes = await _rows(conn, UNUSED_INDEXES, schema)
            r.duplicate_indexes = await _rows(conn, DUPLICATE_INDEXES, schema)
            r.unindexed_foreign_keys = await _rows(
                conn, FOREIGN_KEYS_WITHOUT_INDEX, schema, list(SCOPING_COLUMNS)
            )
            r.sequential_tables = await _rows(conn, SEQUENTIAL_TABLES, schema, SEQ_SCAN_MIN_ROWS)
            hit = await conn.fetchrow(CACHE_HIT, schema)
            if hit is not None and hit["hit"] is not None and (hit["hit"] + hit["read"]) > 0:
                r.cache_hit_ratio = float(hit["hit"] / (hit["hit"] + hit["read"]))
            r.dead_tuples = await _rows(conn, DEAD_TUPLES, schema, DEAD_MIN_ROWS, DEAD_RATIO)
            reports.append(r)
        return Report(statements, reports, await _rows(conn, LONG_TRANSACTIONS))
    finally:
        await conn.close()


async def _statements_available(conn: asyncpg.Connection) -> bool:
    """``pg_stat_statements`` loaded (``shared_preload_libraries``) and its view created here."""
    loaded = await conn.fetchval(
        "SELECT 'pg_stat_statements' = ANY (string_to_array(current_setting('shared_preload_libraries'), ','))"
    )
    if not loaded:
        return False
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return True


async def _rows(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await conn.fetch(sql, *args)]


def render(report: Report) -> list[str]:
    """The report as text lines."""
    lines: list[str] = []
    if not report.statements_available:
        lines.append("pg_stat_statements is not loaded (shared_preload_libraries): no statement statistics")
    for r in report.schemas:
        lines.append(f"== schema {r.schema}")
        ratio = "n/a (nothing read yet)" if r.cache_hit_ratio is None else f"{r.cache_hit_ratio:.4f}"
        lines.append(f"cache hit ratio: {ratio}")
        for title, rows in (
            ("top statements by total time", r.top_total),
            ("top statements by mean time", r.top_mean),
        ):
            if report.statements_available:
                lines.append(f"{title}:")
                lines += [
                    f"  {s['total_ms']:>10} ms total {s['mean_ms']:>9} ms mean {s['calls']:>8} calls  {s['query']}"
                    for s in rows
                ] or ["  (none)"]
        lines.append("foreign keys without an index (defect):")
        lines += [
            f"  {f['table']}.{f['constraint']} ({', '.join(f['columns'])})" for f in r.unindexed_foreign_keys
        ] or ["  (none)"]
        lines.append("duplicate indexes (defect):")
        lines += [f"  {d['table']}: {', '.join(d['indexes'])}" for d in r.duplicate_indexes] or ["  (none)"]
        lines.append("unused indexes (no scan since the statistics were reset):")
        lines += [f"  {u['table']}.{u['index']} ({u['size']})" for u in r.unused_indexes] or ["  (none)"]
        lines.append(f"tables read mostly sequentially (at least {SEQ_SCAN_MIN_ROWS} rows):")
        lines += [
            f"  {t['table']}: {t['seq_scan']} sequential vs {t['idx_scan']} index scans, {t['rows']} rows"
            for t in r.sequential_tables
        ] or ["  (none)"]
        lines.append(f"dead-tuple bloat (at least {DEAD_MIN_ROWS} dead, {DEAD_RATIO:.0%} of the rows):")
        lines += [
            f"  {d['table']}: {d['dead']} dead / {d['live']} live ({d['ratio']}), last autovacuum {d['last_autovacuum']}"
            for d in r.dead_tuples
        ] or ["  (none)"]
    lines.append(f"== transactions open longer than {LONG_TRANSACTION}")
    lines += [
        f"  pid {t['pid']} {t['role']} {t['state']} {t['seconds']} s: {t['query']}"
        for t in report.long_transactions
    ] or ["  (none)"]
    defects = report.defects
    lines.append(f"== {len(defects)} defect(s)" + (":" if defects else ""))
    lines += [f"  {d}" for d in defects]
    return lines
