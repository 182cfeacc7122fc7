"""Case 2's yardstick, measured in the same run: a bare Litestar app that runs the journal's list
statement (the very SQL, on an asyncpg pool like the journal's read pool) for a random seeded user
and returns the rows as JSON. No auth, no middleware, no access log, no schema conversion: what
"one 20-row asyncpg query behind Litestar" costs on this machine right now (the issue measured
4,593 req/s). Served by Granian with one worker, like the services.

Case 13's yardstick is ``POST /entries`` here: the journal's create with two tags and an
``Idempotency-Key`` done the bare way — one transaction, ``set_config`` for row-level security,
then one statement that claims the key (storing the response with it), locks the tags, inserts
the entry with its tag list and the links. The caller's id is the bearer "token" itself (no auth).

    python -m daybook_bench.reference PORT      # env: DAYBOOK_BENCH_REF_DSN, DAYBOOK_BENCH_REF_USERS
"""

from __future__ import annotations

import datetime
import hashlib
import os
import random
import sys
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Request, Response, get, post

from daybook_common.db import plain_url


async def _no_reset(connection: asyncpg.Connection) -> None:
    """The statement leaves no session state behind (its RLS setting is statement-local)."""


# $1 user, $2 key, $3 request hash, $4 response body, $5 now, $6 tag ids, $7 entry id, $8 title,
# $9 content, $10 entry_date.
WRITE = """
WITH claimed AS (
    INSERT INTO idempotency_keys (user_id, key, request_hash, status_code, response_body, response_headers, created_at)
    VALUES ($1, $2, $3, 201, $4, '{}'::jsonb, $5)
    ON CONFLICT DO NOTHING RETURNING key
), tag AS (
    SELECT id, name, color FROM tags WHERE user_id = $1 AND id = ANY($6::uuid[]) ORDER BY id FOR KEY SHARE
), entry AS (
    INSERT INTO journal_entries (id, user_id, title, content, entry_date, tags, version, created_at, updated_at)
    SELECT $7, $1, $8, $9, $10,
           coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, 'name', name, 'color', color)
                                      ORDER BY lower(name), id) FROM tag), '[]'::jsonb),
           1, $5, $5
    FROM claimed RETURNING id
)
INSERT INTO journal_entry_tags (entry_id, tag_id, user_id) SELECT entry.id, tag.id, $1 FROM entry, tag
"""


def create_app() -> Litestar:
    from daybook_journal.entries.services import EntryFilters, EntryQueries

    dsn = plain_url(os.environ["DAYBOOK_BENCH_REF_DSN"])
    users = Path(os.environ["DAYBOOK_BENCH_REF_USERS"]).read_text().split()
    query, values = EntryQueries.list_query(EntryFilters(), None, 20)
    state: dict[str, Any] = {}

    async def startup() -> None:
        # Configured like the journal's read pool (10 connections, generic plans, no session
        # reset on release: asyncpg's default reset costs a round trip per request).
        state["pool"] = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=10,
            reset=_no_reset,
            server_settings={"search_path": "journal", "plan_cache_mode": "force_generic_plan"},
        )

    async def shutdown() -> None:
        await state["pool"].close()

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/entries")
    async def entries() -> dict[str, Any]:
        args = query.args({"uid": random.choice(users), **values})
        rows = await state["pool"].fetch(query.sql, *args)
        return {"items": [dict(row) for row in rows[:20]], "next_cursor": None}

    @post("/entries", status_code=201)
    async def create_entry(request: Request[Any, Any, Any]) -> Response[bytes]:
        raw = await request.body()
        data = msgspec.json.decode(raw)
        user_id = uuid.UUID(request.headers["authorization"].removeprefix("Bearer "))
        key = request.headers["idempotency-key"]
        entry_id = uuid.uuid4()
        now = datetime.datetime.now(datetime.UTC)
        entry_date = datetime.datetime.fromisoformat(data["entry_date"])
        tag_ids = [uuid.UUID(t) for t in data.get("tag_ids", ())]
        body = msgspec.json.encode(
            {"id": entry_id, "user_id": user_id, **data, "created_at": now, "updated_at": now}
        )
        async with state["pool"].acquire() as conn, conn.transaction():
            await conn.execute("SELECT set_config('app.user_id', $1, true)", str(user_id))
            await conn.execute(
                WRITE,
                user_id,
                key,
                hashlib.sha256(raw).digest(),
                body,
                now,
                tag_ids,
                entry_id,
                data.get("title"),
                data.get("content"),
                entry_date,
            )
        return Response(body, status_code=201, media_type="application/json")

    return Litestar(
        [health, entries, create_entry], on_startup=[startup], on_shutdown=[shutdown], openapi_config=None
    )


def main(argv: list[str] | None = None) -> None:
    from daybook_common.cli import serve

    args = sys.argv[1:] if argv is None else argv
    serve("daybook_bench.reference:create_app", "127.0.0.1", int(args[0]))


if __name__ == "__main__":
    main()
