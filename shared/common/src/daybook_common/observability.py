"""Request ids for HTTP: the ASGI middleware that sets them and writes the access line.

Every response carries ``X-Request-ID`` (echoed when the client sent a sane one,
made here otherwise); every log line written while serving the request carries it.
The log formatting itself is framework-free and lives in :mod:`daybook_common.logs`
(re-exported here for older imports).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from daybook_common.logs import (
    AccessLog,
    JsonFormatter,
    access_log,
    access_logger,
    configure_logging,
    request_id_var,
)
from daybook_common.metrics import UNMATCHED, HttpMetrics

__all__ = [
    "REQUEST_ID_HEADER",
    "SERVER_HEADER",
    "AccessLog",
    "JsonFormatter",
    "RequestIdMiddleware",
    "access_log",
    "access_logger",
    "configure_logging",
    "incoming_request_id",
    "is_valid_request_id",
    "new_request_id",
    "request_id_var",
]

REQUEST_ID_HEADER = b"x-request-id"
#: Granian writes ``server: granian`` on every response that has no ``server`` field, and
#: cannot be told not to (emmett-framework/granian#594); a value of our own replaces it, so
#: no answer names the software behind it.
SERVER_HEADER = (b"server", b"daybook")
_SET_HERE = frozenset({REQUEST_ID_HEADER, SERVER_HEADER[0]})
_VALID_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


def new_request_id() -> str:
    """``uuid.uuid4().hex`` (32 hex digits, version and variant bits set), without the UUID object."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def is_valid_request_id(value: bytes) -> bool:
    """A client's ``X-Request-ID`` worth keeping: 1..128 of ``A-Za-z0-9._:-`` (safe in logs and JSON)."""
    return _VALID_ID.fullmatch(value) is not None


def incoming_request_id(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii") if is_valid_request_id(value) else None
    return None


class RequestIdMiddleware:
    """Pure ASGI middleware (cheaper than Litestar's abstract middleware on the hot path)."""

    def __init__(self, app: ASGIApp, *, access_log: bool = True, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type: str = scope["type"]  # a plain str from the server; ScopeType is a str enum
        if scope_type != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope["headers"]) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        encoded = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _SET_HERE]
                headers.append((REQUEST_ID_HEADER, encoded))
                headers.append(SERVER_HEADER)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            template = scope.get("path_template")
            if self.metrics is not None:
                self.metrics.record(str(scope.get("method")), template or UNMATCHED, status, elapsed)
            if self.access_log:
                access_log.record(
                    scope.get("method"),
                    template or scope.get("path"),
                    status,
                    round(elapsed * 1000, 2),
                    request_id,
                )
            request_id_var.reset(token)
