"""HTTP glue shared by the goals-and-practice controllers: the idempotent create response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response

from daybook_common.http import etag
from daybook_common.http import idempotent_create as run_idempotent
from daybook_common.idempotency import IdempotencyKeys


async def idempotent_create(
    request: Request[Any, Any, Any],
    data: msgspec.Struct,
    idempotency: IdempotencyKeys,
    key: str | None,
    create: Callable[[], Awaitable[tuple[Any, int, str]]],
) -> Response[Any]:
    """``201`` with ``Location`` and ``ETag``; a retry with the same key and body gets the first answer.

    ``create`` returns (body, version, location).
    """

    async def run() -> tuple[int, Any, dict[str, str]]:
        body, version, location = await create()
        return 201, body, {"Location": location, "ETag": etag(version)}

    return await run_idempotent(idempotency, key, request.method, request.url.path, data, run)
