"""Case 2's yardstick, measured in the same run: a bare Litestar app that runs the journal's list
statement (the very SQL, on an asyncpg pool like the journal's read pool) for a random seeded user
and returns the rows as JSON. No auth, no middleware, no access log, no schema conversion: what
"one 20-row asyncpg query behind Litestar" costs on this machine right now (the issue measured
4,593 req/s). Served by Granian with one worker, like the services.

    python -m daybook_bench.reference PORT      # env: DAYBOOK_BENCH_REF_DSN, DAYBOOK_BENCH_REF_USERS
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path
from typing import Any

import asyncpg
from litestar import Litestar, get

from daybook_common.db import plain_url


async def _no_reset(connection: asyncpg.Connection) -> None:
    """The statement leaves no session state behind (its RLS setting is statement-local)."""


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

    return Litestar([health, entries], on_startup=[startup], on_shutdown=[shutdown], openapi_config=None)


def main(argv: list[str] | None = None) -> None:
    from daybook_common.cli import serve

    args = sys.argv[1:] if argv is None else argv
    serve("daybook_bench.reference:create_app", "127.0.0.1", int(args[0]))


if __name__ == "__main__":
    main()
