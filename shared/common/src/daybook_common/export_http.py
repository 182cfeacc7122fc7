"""The internal export endpoint of a service: ``GET /internal/v1/export/{kind}`` (see :mod:`daybook_common.export`)."""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Router, get
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncEngine

from daybook_common.auth import AccessClaims
from daybook_common.errors import NotFound
from daybook_common.export import EXPORT_PATH, ExportKind, stream_part


def export_router(kinds: Mapping[str, ExportKind]) -> Router:
    """The service's parts by name; the route is left out of its OpenAPI document (not public)."""

    @get("/{kind:str}", sync_to_thread=False, include_in_schema=False)
    def export_part(kind: str, current_user: AccessClaims, db_engine: AsyncEngine) -> Stream:
        part = kinds.get(kind)
        if part is None:
            raise NotFound(f"No export part named {kind!r}")
        return Stream(
            stream_part(db_engine, part, current_user.user_id),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    return Router(EXPORT_PATH, route_handlers=[export_part], include_in_schema=False)


__all__ = ["export_router"]
