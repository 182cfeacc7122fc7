"""Seeding at COPY speed, through the services' own seed helpers.

- accounts: ``daybook_users.seed.insert_users`` (one argon2 hash made once, shared by all);
- journal: ``daybook_journal.seed.seed`` (tags, entries, entry↔tag links);
- reminders: one ``INSERT … SELECT FROM unnest(…)`` per batch (as in the reminders bench).

Everything runs as the superuser of the stack's database (row-level security does not apply
to it, so the journal seed copies straight into its tables).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from uuid_utils.compat import uuid7

PASSWORD = "bench password 1"
EMAIL_TEMPLATE = "bench-{i}@example.com"
MARKER_FILE = "bench-dataset.json"

INSERT_REMINDERS = """
INSERT INTO reminders.reminders (id, user_id, title, message, frequency, "time", timezone, start_date,
                                 is_active, next_fire_at, created_at, updated_at)
SELECT r.id, r.user_id, $6, 'benchmark reminder', 'daily', r.local_time, r.zone, DATE '2020-01-01',
       true, r.at, now(), now()
FROM unnest($1::uuid[], $2::uuid[], $3::time[], $4::text[], $5::timestamptz[])
    AS r(id, user_id, local_time, zone, at)
"""

# Zones users really live in; a due instant is a whole minute, so each is a real occurrence.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Kyiv",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Africa/Lagos",
    "Africa/Nairobi",
    "Asia/Kathmandu",
)


SHAPE = ("users", "entries_per_user", "tags_per_user")


@dataclass(frozen=True)
class Dataset:
    """What a ``--data-dir`` holds, in its ``bench-dataset.json``: written once the accounts are
    seeded (``"journal": false``) and again after the journal's entries (``true``; a file without
    the key is from before, when it was written only then)."""

    users: int
    entries_per_user: int
    tags_per_user: int
    database: str

    def stored(self, data_dir: Path) -> dict[str, Any] | None:
        try:
            found = json.loads((data_dir / MARKER_FILE).read_text())
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def matches(self, data_dir: Path) -> bool:
        """Its accounts (at least) are this dataset's: reuse them."""
        stored = self.stored(data_dir)
        return stored is not None and {k: v for k, v in stored.items() if k != "journal"} == asdict(self)

    def has_journal(self, data_dir: Path) -> bool:
        stored = self.stored(data_dir)
        return stored is not None and bool(stored.get("journal", True))

    def conflict(self, data_dir: Path) -> str | None:
        """Why this run cannot use ``data_dir`` (its data is of another size), checked before any start."""
        stored = self.stored(data_dir)
        if stored is None:
            return None
        theirs, ours = ({k: d.get(k) for k in SHAPE} for d in (stored, asdict(self)))
        if theirs == ours:
            return None
        return (
            f"{data_dir} holds a bench dataset of another size ({_describe(theirs)}; this run seeds "
            f"{_describe(ours)}, e.g. --quick against a full run's): give another --data-dir, or remove it"
        )

    def mark(self, data_dir: Path, *, journal: bool) -> None:
        (data_dir / MARKER_FILE).write_text(json.dumps({**asdict(self), "journal": journal}))


def _describe(shape: dict[str, Any]) -> str:
    return (
        f"{shape['users']} users, {shape['entries_per_user']} entries and {shape['tags_per_user']} tags each"
    )


async def seed_accounts(dsn: str, count: int, email_template: str = EMAIL_TEMPLATE) -> list[uuid.UUID]:
    from daybook_users.seed import insert_users, password_hash

    hashed = password_hash(PASSWORD)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            return await insert_users(conn, count, hashed, email_template=email_template)
    finally:
        await conn.close()


async def count_seeded_accounts(dsn: str) -> int:
    """How many ``bench-<i>`` accounts the database already has."""
    conn = await asyncpg.connect(dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM users.users WHERE email LIKE 'bench-%@example.com' AND deleted_at IS NULL"
            )
        )
    finally:
        await conn.close()


async def seeded_accounts(dsn: str, count: int) -> list[uuid.UUID]:
    """The ids of an earlier run's accounts (``bench-0`` … ``bench-<count-1>``), in that order."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, email FROM users.users WHERE email LIKE 'bench-%@example.com' AND deleted_at IS NULL"
        )
    finally:
        await conn.close()
    by_email = {row["email"]: row["id"] for row in rows}
    return [by_email[EMAIL_TEMPLATE.format(i=i)] for i in range(count)]


async def seed_journal(
    dsn: str,
    user_ids: Sequence[uuid.UUID],
    entries_per_user: int,
    tags_per_user: int,
    *,
    analyze: bool = True,
) -> float:
    """Tags, entries and links for these users; returns rows/s."""
    from daybook_journal.seed import seed

    result = await seed(
        dsn,
        len(user_ids),
        entries_per_user,
        tags_per_user=tags_per_user,
        user_ids=user_ids,
        random_seed=42,
        analyze=analyze,
        connections=2 if len(user_ids) > 1 else 1,
    )
    return result.rows_per_second


async def vacuum_journal(dsn: str) -> None:
    """Set hint bits and the visibility map once, as autovacuum would have long before a real read."""
    conn = await asyncpg.connect(dsn)
    try:
        for table in ("journal_entries", "journal_entry_tags", "tags"):
            await conn.execute(f"VACUUM (ANALYZE) journal.{table}")
    finally:
        await conn.close()


def due_rows(
    count: int, owners: Sequence[uuid.UUID], due: Sequence[dt.datetime], rng: random.Random
) -> tuple[list[uuid.UUID], list[uuid.UUID], list[dt.time], list[str], list[dt.datetime]]:
    """Columns for ``INSERT_REMINDERS``: daily reminders whose local time is their due instant's."""
    ids = [uuid7() for _ in range(count)]
    users = [owners[i % len(owners)] for i in range(count)]
    zones = [rng.choice(ZONES) for _ in range(count)]
    local = [
        at.astimezone(ZoneInfo(zone)).time().replace(second=0, microsecond=0)
        for zone, at in zip(zones, due, strict=True)
    ]
    return ids, users, local, zones, list(due)


async def insert_reminders(
    conn: asyncpg.Connection,
    count: int,
    owners: Sequence[uuid.UUID],
    due: Sequence[dt.datetime],
    title: str,
    seed: int = 1,
) -> None:
    ids, users, local, zones, at = due_rows(count, owners, due, random.Random(seed))
    await conn.execute(INSERT_REMINDERS, ids, users, local, zones, at, title)
