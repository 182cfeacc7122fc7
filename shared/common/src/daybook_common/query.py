"""Query strings as the contract reads them: empty means absent, and text never holds NUL.

Clients build query strings from optional form fields and send ``?q=&cursor=``; the contract
says that is the same request as without them.  :class:`QueryMiddleware` drops every ``name=``
(and bare ``name``) pair from the ASGI scope before routing, so no handler, fast path or
validator ever sees an empty value.  A value holding the NUL character (``%00``), which
PostgreSQL cannot store or compare, is answered with a 422 problem before any handler runs.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

from daybook_common.problems import PROBLEM_JSON, problem_body


def drop_empty_params(query_string: bytes) -> bytes:
    """``query_string`` without its empty-valued pairs (``a=&b=1&c`` → ``b=1``)."""
    if not query_string:
        return query_string
    kept = [part for part in query_string.split(b"&") if part.partition(b"=")[2]]
    return b"&".join(kept)


def names_with_nul(query_string: bytes) -> list[str]:
    """The parameters whose name or value holds the NUL character, in order."""
    if b"%00" not in query_string and b"\x00" not in query_string:
        return []
    found: list[str] = []
    for part in query_string.split(b"&"):
        if b"%00" in part or b"\x00" in part:
            name = unquote_to_bytes(part.partition(b"=")[0].replace(b"+", b" ")).replace(b"\x00", b"")
            found.append(name.decode("utf-8", "replace"))
    return found


class QueryMiddleware:
    """ASGI wrapper: empty parameters are removed; a NUL in the query string is a 422."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        query_string = scope.get("query_string") if scope["type"] == "http" else None
        if query_string:
            with_nul = names_with_nul(query_string)
            if with_nul:
                await _reject_nul(send, with_nul)
                return
            cleaned = drop_empty_params(query_string)
            if cleaned != query_string:
                scope = {**scope, "query_string": cleaned}
        await self.app(scope, receive, send)


async def _reject_nul(send: Any, names: list[str]) -> None:
    errors = [{"field": name, "message": "must not contain the NUL character"} for name in names]
    body = json.dumps(problem_body(422, "Validation failed", errors=errors)).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 422, "headers": headers})
    await send({"type": "http.response.body", "body": body})
