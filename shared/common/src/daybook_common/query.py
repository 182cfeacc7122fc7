"""An empty query parameter means the same as an absent one (``?cursor=`` is the first page).

Clients build query strings from optional form fields and send ``?q=&cursor=``; the contract
says that is the same request as without them.  :class:`QueryMiddleware` drops every ``name=``
(and bare ``name``) pair from the ASGI scope before routing, so no handler, fast path or
validator ever sees an empty value.  (A NUL in the query string is the input guard's 422:
:mod:`daybook_common.guard`.)
"""

from __future__ import annotations

from typing import Any


def drop_empty_params(query_string: bytes) -> bytes:
    """``query_string`` without its empty-valued pairs (``a=&b=1&c`` → ``b=1``)."""
    if not query_string:
        return query_string
    kept = [part for part in query_string.split(b"&") if part.partition(b"=")[2]]
    return b"&".join(kept)


class QueryMiddleware:
    """ASGI wrapper: the wrapped app sees query strings without empty parameters."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        query_string = scope.get("query_string") if scope["type"] == "http" else None
        if query_string:
            cleaned = drop_empty_params(query_string)
            if cleaned != query_string:
                # In place, not a copy: what Litestar records in the scope (``path_template``,
                # the route handler) must reach the outer middlewares, or the metrics counted such
                # a request as ``<unmatched>`` and the access log wrote its raw path.
                scope["query_string"] = cleaned
        await self.app(scope, receive, send)
