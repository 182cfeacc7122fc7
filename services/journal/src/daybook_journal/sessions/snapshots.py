"""Each session's ``activities`` as the API renders them, cached on the session (journal_0018).

``sessions.activities_json`` is :func:`encode_activities` of the session's instances (by
``sort_order, id``, each with its values by ``metric_id, split_id``), or NULL = unknown.  The
sessions page embeds it as is (``msgspec.Raw``: no decode, no encode, the same bytes).

- **Writes**: statement triggers on ``activity_instances`` and ``metric_values`` set it to NULL
  for every session a statement touched (whatever the code path: a goal move's cascade of
  ``root_id``, a purge, an erasure); :class:`~daybook_journal.sessions.services.SessionService`
  then writes the fresh one from the instances it reads back anyway, in the same transaction
  and under the session's row lock.
- **Reads**: a page with a NULL snapshot on it is read again by the statement that aggregates
  instances and values for those rows only (:data:`INSTANCES_LATERAL`, :data:`VALUES_LATERAL`,
  :func:`instances_from_arrays`; :mod:`daybook_journal.sessions.reads`).
- **Existing rows**: :func:`backfill` (``daybook-journal backfill-session-snapshots``) fills NULL
  snapshots in batches, each batch in one transaction that locks its sessions (``FOR NO KEY
  UPDATE``, which the triggers' UPDATE waits for), so a concurrent write either commits before
  the batch reads or NULLs the snapshot again after it.  The bench's seeder inserts its sessions
  with theirs (:func:`snapshot_of_row` of the same laterals), so it needs no backfill.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid

import asyncpg
import msgspec

from daybook_journal import SCHEMA
from daybook_journal.db.rows import Record
from daybook_journal.sessions import schemas as s

_encode = msgspec.json.Encoder().encode

#: A session's instances as parallel arrays, in the API's order (``ses`` is the session's row;
#: ``{only}`` a further condition on it, e.g. that its snapshot is NULL).
INSTANCES_LATERAL = f"""
    LEFT JOIN LATERAL (
        SELECT array_agg(i.id ORDER BY i.sort_order, i.id) AS i_id,
               array_agg(i.activity_id ORDER BY i.sort_order, i.id) AS i_activity,
               array_agg(i.time_start ORDER BY i.sort_order, i.id) AS i_start,
               array_agg(i.time_stop ORDER BY i.sort_order, i.id) AS i_stop,
               array_agg(i.duration_seconds ORDER BY i.sort_order, i.id) AS i_seconds,
               array_agg(i.sort_order ORDER BY i.sort_order, i.id) AS i_sort,
               array_agg(i.created_at ORDER BY i.sort_order, i.id) AS i_created,
               array_agg(i.updated_at ORDER BY i.sort_order, i.id) AS i_updated
        FROM {SCHEMA}.activity_instances AS i
        WHERE i.session_id = ses.id{{only}}
    ) AS ins ON true"""
#: Their values as parallel arrays, by instance, ``metric_id``, ``split_id`` (NULL first).
VALUES_LATERAL = f"""
    LEFT JOIN LATERAL (
        SELECT array_agg(v.instance_id ORDER BY v.instance_id, v.metric_id, v.split_id NULLS FIRST) AS v_instance,
               array_agg(v.id ORDER BY v.instance_id, v.metric_id, v.split_id NULLS FIRST) AS v_id,
               array_agg(v.metric_id ORDER BY v.instance_id, v.metric_id, v.split_id NULLS FIRST) AS v_metric,
               array_agg(v.split_id ORDER BY v.instance_id, v.metric_id, v.split_id NULLS FIRST) AS v_split,
               array_agg(v.value ORDER BY v.instance_id, v.metric_id, v.split_id NULLS FIRST) AS v_value
        FROM {SCHEMA}.metric_values AS v
        WHERE ins.i_id IS NOT NULL AND v.instance_id = ANY (ins.i_id)
    ) AS val ON true"""


def instances_from_arrays(row: Record, session_id: uuid.UUID, root_id: uuid.UUID) -> list[s.Instance]:
    """The instances of a row carrying :data:`INSTANCES_LATERAL`'s and :data:`VALUES_LATERAL`'s arrays."""
    if row["i_id"] is None:
        return []
    values: dict[uuid.UUID, list[s.MetricValue]] = {}
    if row["v_id"] is not None:
        for instance_id, value_id, metric_id, split_id, value in zip(
            row["v_instance"], row["v_id"], row["v_metric"], row["v_split"], row["v_value"], strict=True
        ):
            values.setdefault(instance_id, []).append(
                s.MetricValue(id=value_id, metric_id=metric_id, split_id=split_id, value=value)
            )
    return [
        s.Instance(
            id=instance_id,
            session_id=session_id,
            activity_id=activity_id,
            root_id=root_id,
            time_start=start,
            time_stop=stop,
            duration_seconds=seconds,
            sort_order=sort_order,
            metrics=values.get(instance_id, []),
            created_at=created,
            updated_at=updated,
        )
        for instance_id, activity_id, start, stop, seconds, sort_order, created, updated in zip(
            row["i_id"],
            row["i_activity"],
            row["i_start"],
            row["i_stop"],
            row["i_seconds"],
            row["i_sort"],
            row["i_created"],
            row["i_updated"],
            strict=True,
        )
    ]


def encode_activities(instances: list[s.Instance]) -> str:
    """The snapshot: the JSON of ``activities`` exactly as the API's encoder writes it."""
    return _encode(instances).decode()


def snapshot_of_row(row: Record) -> str:
    """The snapshot of a row with the session's ``id`` and ``root_id`` and :data:`INSTANCES_LATERAL`'s
    and :data:`VALUES_LATERAL`'s arrays (the backfill's rows; the bench's seeder's)."""
    return encode_activities(instances_from_arrays(row, row["id"], row["root_id"]))


_BATCH = f"""
SELECT ses.id, ses.root_id, ins.*, val.*
FROM (
    SELECT id, root_id FROM {SCHEMA}.sessions
    WHERE activities_json IS NULL AND id > $1 AND id <= $3
    ORDER BY id LIMIT $2
    FOR NO KEY UPDATE
) AS ses
{INSTANCES_LATERAL.format(only="")}
{VALUES_LATERAL}
ORDER BY ses.id
"""
_STORE = f"""
UPDATE {SCHEMA}.sessions AS s SET activities_json = u.snapshot
FROM unnest($1::uuid[], $2::text[]) AS u (id, snapshot)
WHERE s.id = u.id AND s.activities_json IS NULL
"""


#: Where ``workers`` ranges of the ids still without a snapshot split (as many ids in each).
_SPLITS = f"""
SELECT percentile_disc($1::float8[]) WITHIN GROUP (ORDER BY id)
FROM {SCHEMA}.sessions WHERE activities_json IS NULL
"""
_FIRST, _LAST = uuid.UUID(int=0), uuid.UUID(int=(1 << 128) - 1)


async def backfill(pool: asyncpg.Pool, batch_size: int = 2000, workers: int = 1) -> int:
    """Write the snapshot of every session that has none, ``batch_size`` sessions per transaction
    (across users: ``app.rls_bypass`` LOCAL to each), on ``workers`` connections at once (each a
    range of ids; the pool needs that many); the number written.  Rerunnable, and safe while the
    service runs (see the module docstring)."""
    bounds = [_FIRST]
    if workers > 1:
        async with pool.acquire() as conn:
            splits = await conn.fetchval(_SPLITS, [k / workers for k in range(1, workers)])
        bounds += [b for b in splits or () if b is not None]
    bounds.append(_LAST)
    ranges = itertools.pairwise(bounds)
    return sum(await asyncio.gather(*(_backfill_range(pool, batch_size, lo, hi) for lo, hi in ranges)))


async def _backfill_range(pool: asyncpg.Pool, batch_size: int, after: uuid.UUID, until: uuid.UUID) -> int:
    """:func:`backfill` of the sessions with ``after < id <= until``."""
    written = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
            rows = await conn.fetch(_BATCH, after, batch_size, until)
            if not rows:
                return written
            ids = [row["id"] for row in rows]
            snapshots = [snapshot_of_row(row) for row in rows]
            status = await conn.execute(_STORE, ids, snapshots)
        written += int(status.rsplit(" ", 1)[-1])
        after = ids[-1]
        if len(rows) < batch_size:
            return written
