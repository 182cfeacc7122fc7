"""``/health`` (the process is up) and ``/ready`` (it can serve: its checks pass)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from daybook_common.problems import PROBLEM_JSON, problem_body
from daybook_common.revisions import current_revision

ReadyCheck = Callable[[State], Awaitable[tuple[bool, dict[str, Any]]]]


def database_check(
    schema: str,
    head: str | None,
    engine_key: str = "db_engine",
    known: Callable[[str], bool] | None = None,
) -> ReadyCheck:
    """Ready when the database answers and this service's history is at ``head`` — or beyond it:
    a revision this code does not ``known`` is a newer release's, migrated by its Job before its
    pods roll (migrations keep the previous release working), so the old pods stay in service."""
    unknown: dict[str, bool] = {}

    def ahead(revision: str | None) -> bool:
        if revision is None or known is None:
            return False
        if revision not in unknown:
            unknown[revision] = not known(revision)
        return unknown[revision]

    async def check(state: State) -> tuple[bool, dict[str, Any]]:
        engine: AsyncEngine = state[engine_key]
        try:
            async with asyncio.timeout(3), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                revision = await current_revision(conn, schema)
        except Exception as exc:
            return False, {"database": "unreachable", "error": exc.__class__.__name__}
        if revision != head:
            if ahead(revision):
                return True, {"database": "ok", "migrations": "ahead", "revision": revision, "head": head}
            return False, {"database": "ok", "migrations": "pending", "revision": revision, "head": head}
        return True, {"database": "ok", "migrations": "head", "revision": revision}

    return check


def health_handlers(ready_check: ReadyCheck | None) -> list[Any]:
    @get("/health", operation_id="Health", tags=["health"], sync_to_thread=False, include_in_schema=True)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", operation_id="Ready", tags=["health"])
    async def ready(state: State) -> Response[dict[str, Any]]:
        if ready_check is None:
            return Response({"status": "ready"})
        ok, details = await ready_check(state)
        if ok:
            return Response({"status": "ready", **details})
        return Response(
            problem_body(503, "Not ready", checks=details), status_code=503, media_type=PROBLEM_JSON
        )

    return [health, ready]
