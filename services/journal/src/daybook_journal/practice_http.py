"""HTTP glue shared by the goals-and-practice controllers: If-Match → ``expected_version``,
and the idempotent create response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response

from daybook_journal.http import parse_if_match
from daybook_journal.idempotency import IdempotencyService, fingerprint

#: Never equal to a stored version: an If-Match naming no version we can read fails (412).
NO_VERSION = -1


def expected_version(if_match: str | None) -> int | None:
    """``None`` without a precondition (header absent or ``*``); the one named version; or
    :data:`NO_VERSION` when the header names none we recognise (weak, malformed, several)."""
    parsed = parse_if_match(if_match)
    if parsed is None or parsed.any:
        return None
    if len(parsed.versions) == 1:
        return next(iter(parsed.versions))
    return NO_VERSION


async def idempotent_create(
    request: Request[Any, Any, Any],
    data: msgspec.Struct,
    idempotency: IdempotencyService,
    key: str | None,
    create: Callable[[], Awaitable[tuple[Any, int, str]]],
) -> Response[Any]:
    """``201`` with ``Location`` and ``ETag``; a retry with the same key and body gets the first answer.

    ``create`` returns (body, version, location).
    """

    async def run() -> tuple[int, Any, dict[str, str]]:
        body, version, location = await create()
        return 201, body, {"Location": location, "ETag": f'"{version}"'}

    request_hash = fingerprint(request.method, request.url.path, data)
    return await idempotency.run(key, request_hash, run)
