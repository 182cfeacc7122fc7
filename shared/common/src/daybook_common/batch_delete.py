"""Bounded batched deletes whose cost no table statistics can change.

``DELETE FROM t WHERE id IN (SELECT id FROM t WHERE … LIMIT $2)`` is planned as a nested-loop
semi join rescanning the pick for every row the outer scan meets whenever the statistics say the
table is empty (analysed just after an erasure or a purge emptied it, then refilled): ~rows x batch
rows read per batch, quadratic (bench case 6: one 5,000-row batch over a minute). The statement
below picks the batch once (``ARRAY(…)``: an InitPlan) and deletes it by row address (a TID scan),
so no plan joins the table with its own pick.

A row updated between the pick and the delete has a new address and is skipped: loops over
these batches run until one deletes nothing, not until one deletes fewer than ``$2``.
"""

from __future__ import annotations


def delete_batch_sql(table: str, where: str, order: str = "") -> str:
    """Delete at most ``$2`` rows of ``table`` matching ``where`` (picked in ``order``, if any).

    ``where`` may refer to the table by its unqualified name (``NOT EXISTS (… = activities.id)``).
    """
    order_by = f" ORDER BY {order}" if order else ""
    return (
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {table} WHERE {where}{order_by} LIMIT $2))"
    )


def refresh_stale_statistics_sql(schema: str) -> str:
    """``ANALYZE`` the tables of ``schema`` holding foreign keys whose statistics are off by more
    than their analysed size (rows changed since the last ``ANALYZE`` > max(rows then, 1,000)).

    Autovacuum is behind, e.g. a table analysed empty, then refilled. Every row a batch deletes
    runs its foreign keys' ``ON DELETE`` queries on those tables, planned with their statistics:
    with the journal's ``journal_entry_tags`` "empty", each entry's cascade scanned all of the
    user's links through the (tag_id, user_id) index, quadratic. Only these: the wide tables a
    batch deletes from (entries, tasks, the audit log) take seconds to analyse and are read by
    :func:`delete_batch_sql` whatever their statistics say. A few µs when the statistics are
    sound, as autovacuum keeps them; a table whose ``ANALYZE`` would wait over 1 s for a lock (a
    manual ``VACUUM`` running) is skipped, and so (with a warning) is one the role does not own.
    """
    return f"""
DO $refresh$
DECLARE stale text;
BEGIN
    PERFORM set_config('lock_timeout', '1s', true);
    FOR stale IN
        SELECT DISTINCT s.relname FROM pg_constraint AS f
        JOIN pg_stat_user_tables AS s ON s.relid = f.conrelid
        JOIN pg_class AS c ON c.oid = f.conrelid
        WHERE f.contype = 'f' AND s.schemaname = '{schema}'
          AND s.n_mod_since_analyze > greatest(c.reltuples, 1000)
    LOOP
        BEGIN
            EXECUTE format('ANALYZE %I.%I', '{schema}', stale);
        EXCEPTION WHEN lock_not_available THEN
            NULL;
        END;
    END LOOP;
END
$refresh$
"""


__all__ = ["delete_batch_sql", "refresh_stale_statistics_sql"]
