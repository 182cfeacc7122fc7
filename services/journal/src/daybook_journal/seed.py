"""Bulk demo/benchmark data: many users' tags, entries (with tag links) and tasks, at COPY speed.

Rows are generated in Python and streamed with ``COPY`` (asyncpg
``copy_records_to_table``) in chunks of users, one transaction per chunk.  PostgreSQL
refuses ``COPY FROM`` into a table under row-level security, so unless the connecting
role bypasses RLS (a superuser) each chunk is copied into temporary staging tables and
moved with one ``INSERT … SELECT`` per table under the maintenance bypass.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from uuid_utils.compat import uuid7

from daybook_common.db import plain_url
from daybook_journal import SCHEMA

WORDS = [
    "morning",
    "coffee",
    "walk",
    "park",
    "meeting",
    "lunch",
    "friend",
    "call",
    "family",
    "dinner",
    "book",
    "read",
    "write",
    "idea",
    "plan",
    "project",
    "garden",
    "rain",
    "sun",
    "quiet",
    "busy",
    "happy",
    "tired",
    "grateful",
    "travel",
    "train",
    "city",
    "river",
    "music",
    "run",
    "gym",
    "code",
    "review",
    "bug",
    "fix",
    "release",
    "design",
    "sketch",
    "note",
    "dream",
    "cook",
    "bread",
    "tea",
    "evening",
    "night",
    "sleep",
    "weekend",
    "market",
    "bike",
    "trip",
    "mountain",
    "lake",
    "snow",
    "summer",
    "winter",
    "spring",
    "autumn",
    "letter",
    "photo",
    "movie",
]
COLORS = ("#e53935", "#8e24aa", "#3949ab", "#039be5", "#00897b", "#7cb342", "#fdd835", "#fb8c00")
STATUSES = ("todo", "in_progress", "done")
PRIORITIES = ("low", "medium", "high")

ENTRY_COLUMNS = (
    "id",
    "user_id",
    "title",
    "content",
    "entry_date",
    "version",
    "created_at",
    "updated_at",
    "tags",
)
TAG_COLUMNS = ("id", "user_id", "name", "color", "version", "created_at", "updated_at")
LINK_COLUMNS = ("entry_id", "tag_id", "user_id")
TASK_LINK_COLUMNS = ("task_id", "tag_id", "user_id")
TASK_COLUMNS = (
    "id",
    "user_id",
    "title",
    "description",
    "status",
    "priority",
    "due_at",
    "completed_at",
    "version",
    "created_at",
    "updated_at",
)


@dataclass
class SeedResult:
    users: int = 0
    tags: int = 0
    entries: int = 0
    links: int = 0
    tasks: int = 0
    seconds: float = 0.0
    user_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.tags + self.entries + self.links + self.tasks

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Chunk:
    tags: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    links: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: list[tuple[Any, ...]] = field(default_factory=list)
    task_links: list[tuple[Any, ...]] = field(default_factory=list)


class _Texts:
    """Pools of random titles and bodies, drawn from per row (joining words per row is the slow part)."""

    def __init__(self, rng: random.Random, body_words: tuple[int, int], size: int = 4096) -> None:
        self.titles = [" ".join(rng.choices(WORDS, k=rng.randint(2, 5))).capitalize() for _ in range(size)]
        self.bodies = [" ".join(rng.choices(WORDS, k=rng.randint(*body_words))) + "." for _ in range(size)]


def _generate(
    rng: random.Random,
    texts: _Texts,
    user_ids: Sequence[uuid.UUID],
    entries_per_user: int,
    tasks_per_user: int,
    tags_per_user: int,
    now: datetime.datetime,
) -> _Chunk:
    chunk = _Chunk()
    span = 730 * 86400
    titles, bodies = texts.titles, texts.bodies
    choice, randrange, random_ = rng.choice, rng.randrange, rng.random
    second = datetime.timedelta(seconds=1)
    for user_id in user_ids:
        tag_ids = []
        #: Each tag's entry in an entry's ``tags`` column, and its place in that list.
        listed: dict[uuid.UUID, tuple[tuple[str, uuid.UUID], dict[str, str]]] = {}
        for n in range(tags_per_user):
            tag_id = uuid7()
            tag_ids.append(tag_id)
            name, color = f"{choice(WORDS)}-{n}", COLORS[n % len(COLORS)]
            chunk.tags.append((tag_id, user_id, name, color, 1, now, now))
            # Names are ASCII, so Python's lower() orders them as PostgreSQL's lower() does.
            listed[tag_id] = ((name.lower(), tag_id), {"id": str(tag_id), "name": name, "color": color})
        for _ in range(entries_per_user):
            entry_id = uuid7()
            entry_date = now - randrange(span) * second
            title, body = choice(titles), choice(bodies)
            carried: list[uuid.UUID] = []
            if tag_ids:
                picked = random_()
                if picked < 0.35:
                    carried = [choice(tag_ids)]
                elif picked < 0.5 and len(tag_ids) > 1:
                    carried = rng.sample(tag_ids, 2)
            chunk.links.extend((entry_id, tag_id, user_id) for tag_id in carried)
            tags_json = json.dumps([listed[t][1] for t in sorted(carried, key=lambda t: listed[t][0])])
            chunk.entries.append((entry_id, user_id, title, body, entry_date, 1, now, now, tags_json))
        for _ in range(tasks_per_user):
            status = choice(STATUSES)
            due_at = now + (randrange(span // 2) - span // 4) * second if random_() < 0.7 else None
            task_id = uuid7()
            if tag_ids and random_() < 0.4:
                chunk.task_links.append((task_id, choice(tag_ids), user_id))
            chunk.tasks.append(
                (
                    task_id,
                    user_id,
                    choice(titles),
                    choice(bodies) if random_() < 0.5 else None,
                    status,
                    choice(PRIORITIES),
                    due_at,
                    now if status == "done" else None,
                    1,
                    now,
                    now,
                )
            )
    return chunk


_TABLES = (
    ("tags", TAG_COLUMNS, "tags"),
    ("journal_entries", ENTRY_COLUMNS, "entries"),
    ("journal_entry_tags", LINK_COLUMNS, "links"),
    ("tasks", TASK_COLUMNS, "tasks"),
    ("task_tags", TASK_LINK_COLUMNS, "task_links"),
)


async def _connect(database_url: str) -> asyncpg.Connection:
    # A big GIN pending list and work_mem let the full-text index absorb bulk inserts in large merges.
    return await asyncpg.connect(
        plain_url(database_url),
        server_settings={
            "gin_pending_list_limit": "65536",
            "work_mem": "262144",
            "synchronous_commit": "off",
        },
    )


async def _bypasses_rls(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
    )


async def _write(conn: asyncpg.Connection, chunk: _Chunk, direct: bool) -> None:
    async with conn.transaction():
        if direct:
            for table, columns, attr in _TABLES:
                records = getattr(chunk, attr)
                if records:
                    await conn.copy_records_to_table(
                        table, schema_name=SCHEMA, columns=list(columns), records=records
                    )
            return
        await conn.execute("SELECT set_config('app.rls_bypass', 'on', true)")
        for table, columns, attr in _TABLES:
            records = getattr(chunk, attr)
            if not records:
                continue
            staging = f"seed_{table}"
            await conn.copy_records_to_table(staging, columns=list(columns), records=records)
            names = ", ".join(columns)
            await conn.execute(f"INSERT INTO {SCHEMA}.{table} ({names}) SELECT {names} FROM {staging}")


async def _prepare_staging(conn: asyncpg.Connection) -> None:
    for table, columns, _ in _TABLES:
        wanted = ", ".join(columns)
        await conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS seed_{table} ON COMMIT DELETE ROWS AS "
            f"SELECT {wanted} FROM {SCHEMA}.{table} WITH NO DATA"
        )


async def seed(
    database_url: str,
    users: int,
    entries_per_user: int,
    *,
    tasks_per_user: int = 0,
    tags_per_user: int = 5,
    user_ids: Sequence[uuid.UUID] | None = None,
    users_per_chunk: int | None = None,
    random_seed: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    analyze: bool = True,
    body_words: tuple[int, int] = (10, 40),
    connections: int = 2,
) -> SeedResult:
    """Insert ``users`` x (``tags_per_user`` tags, ``entries_per_user`` entries, ``tasks_per_user`` tasks).

    ``user_ids`` (optional) names the users; otherwise fresh UUIDv7s are made.
    ``on_progress(n)`` is called with the number of entries+tasks written after each chunk.
    ``body_words``: (min, max) words per entry body (shorter bodies index faster).
    ``connections``: COPY streams in parallel (each chunk is one transaction on one of them).
    """
    ids = list(user_ids) if user_ids is not None else [uuid7() for _ in range(users)]
    if len(ids) < users:
        raise ValueError(f"{users} users asked for but only {len(ids)} user ids given")
    ids = ids[:users]
    per_user_rows = max(1, entries_per_user + tasks_per_user)
    chunk_size = users_per_chunk or max(1, 20_000 // per_user_rows)
    rng = random.Random(random_seed)
    texts = _Texts(rng, body_words)
    result = SeedResult(users=len(ids), user_ids=ids)
    started = time.perf_counter()
    now = datetime.datetime.now(datetime.UTC)
    groups = iter([ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)])

    async def worker() -> None:
        # While one connection waits on its COPY, the other generates its next chunk.
        conn = await _connect(database_url)
        try:
            direct = await _bypasses_rls(conn)
            if not direct:
                await _prepare_staging(conn)
            for group in groups:
                chunk = _generate(rng, texts, group, entries_per_user, tasks_per_user, tags_per_user, now)
                await _write(conn, chunk, direct)
                result.tags += len(chunk.tags)
                result.entries += len(chunk.entries)
                result.links += len(chunk.links) + len(chunk.task_links)
                result.tasks += len(chunk.tasks)
                if on_progress is not None:
                    on_progress(len(chunk.entries) + len(chunk.tasks))
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, connections))))
    if analyze:
        conn = await _connect(database_url)
        try:
            for table, _, _ in _TABLES:
                await conn.execute(f"ANALYZE {SCHEMA}.{table}")
        finally:
            await conn.close()
    result.seconds = time.perf_counter() - started
    return result
