"""The comparison baseline: the same proxy written as a Litestar route handler.

Not used by the gateway; ``run.py --variant litestar`` serves it to show what the raw ASGI hot
path in ``daybook_gateway.proxy`` saves.  It does the same work per request: request id, token
check (cached), hop-by-hop filtering, one pooled aiohttp session, streamed response.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from litestar import Litestar, Request, Response, get, route
from litestar.response import Stream

from daybook_common.auth import TokenError, bearer_token
from daybook_common.observability import RequestIdMiddleware
from daybook_common.problems import exception_handlers, problem_response
from daybook_common.service import wrap_outermost
from daybook_gateway.auth import edge_verifier
from daybook_gateway.proxy import HOP_BY_HOP
from daybook_gateway.routing import SKIP_AUTO_HEADERS
from daybook_gateway.settings import Settings

_DROP_REQ = HOP_BY_HOP | {b"x-request-id", b"content-length", b"host"}
_DROP_RESP = HOP_BY_HOP | {b"x-request-id", b"date", b"server", b"content-length"}


def create_app() -> Litestar:
    settings = Settings.from_env()
    upstream = os.environ.get("GATEWAY_JOURNAL_URL", "http://127.0.0.1:8002")
    verifier = edge_verifier(settings.auth, settings.jwks_timeout)
    state: dict[str, aiohttp.ClientSession] = {}

    async def startup() -> None:
        state["session"] = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=256, keepalive_timeout=15),
            timeout=aiohttp.ClientTimeout(total=60, sock_connect=2, sock_read=30),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=SKIP_AUTO_HEADERS,
        )
        await verifier.refresh()

    async def shutdown() -> None:
        await state["session"].close()

    @get("/health", sync_to_thread=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @route("/api/v1/journal/{rest:path}", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def proxy(request: Request[Any, Any, Any]) -> Any:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            return problem_response(401, "Missing access token", headers={"WWW-Authenticate": "Bearer"})
        try:
            await verifier.verify(token)
        except TokenError:
            return problem_response(401, "Invalid access token", headers={"WWW-Authenticate": "Bearer"})
        headers = [(k.decode(), v.decode()) for k, v in request.scope["headers"] if k not in _DROP_REQ]
        headers.append(("X-Request-ID", request.scope["state"]["request_id"]))
        body = await request.body()
        url = upstream + request.scope["raw_path"].decode()
        resp = await state["session"].request(
            request.method, url, headers=headers, data=body or None, allow_redirects=False
        )
        out = {k.decode(): v.decode() for k, v in resp.raw_headers if k.lower() not in _DROP_RESP}

        async def stream() -> AsyncIterator[bytes]:
            try:
                async for chunk in resp.content.iter_any():
                    yield chunk
            finally:
                resp.release()

        if resp.content_length is not None and resp.content_length <= 65536:
            data = await resp.read()
            resp.release()
            return Response(data, status_code=resp.status, headers=out)
        return Stream(stream(), status_code=resp.status, headers=out)

    app = Litestar(
        route_handlers=[health, proxy],
        exception_handlers=exception_handlers,
        on_startup=[startup],
        on_shutdown=[shutdown],
        openapi_config=None,
        logging_config=None,
    )
    wrap_outermost(app, RequestIdMiddleware, access_log=settings.access_log)
    return app
