"""``GET /api/v1/notifications/stream``: the caller's new notifications as Server-Sent Events.

Each event is one notification: ``id`` its id, ``data`` its JSON (as ``GET /notifications``
lists it). The stream is registered with this process's :class:`LiveHub` *before* its starting
place in commit order is read (after the ``Last-Event-ID`` replay, or the commit horizon), and
live rows are only those after that place, so a notification recorded in between arrives once
(see :mod:`daybook_reminders.commit_order`). A comment line every ``REMINDERS_STREAM_HEARTBEAT_SECONDS`` keeps an
idle stream open through proxies; the stream ends when the access token expires (the client
reconnects with a fresh one and ``Last-Event-ID``), when the account is erased or deactivated (at
once), when the token's session is signed out (at the next heartbeat), when the client falls
``QUEUE_SIZE`` notifications behind, or when the client leaves (at once: its ``http.disconnect``).

An open stream is a plain ASGI response (:class:`LiveStream`) writing the event bytes itself,
entered by :func:`stream_fast_path` before Litestar makes a ``Request``: an idle stream is the
server's connection, its request task, one small watcher task and a :class:`Listener` — no
request object, no response object, no task group (Litestar's ``ServerSentEvent`` holds all
three for the stream's whole life: 18 KB per stream, bench case 11). Requests of another shape
(a query string, a ``Last-Event-ID`` that is not a plain UUID) go through the handler, whose
validation answers them; when it streams, it streams the same :class:`LiveStream`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.datastructures import State
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Receive, Scope, Send

from daybook_common.auth import VERIFIER_STATE_KEY, AccessClaims, TokenVerifier, verified_caller
from daybook_common.errors import TooManyRequests
from daybook_reminders.notifications import schemas as s
from daybook_reminders.notifications.live import Listener, LiveHub, TooManyStreams

#: The client waits this long before reconnecting after the stream ends (the SSE ``retry`` field).
RECONNECT_MS = 2000
#: A client refused for holding too many streams may try again after this many seconds.
RETRY_AFTER_TOO_MANY = 30
LIVE_STATE_KEY = "reminders_live"
HEARTBEAT_STATE_KEY = "reminders_stream_heartbeat"
#: ``X-Accel-Buffering: no`` tells nginx-style proxies in front of the gateway not to buffer.
START: HTTPResponseStartEvent = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
    ],
}
CONNECTED = b": connected\r\nretry: %d\r\n\r\n" % RECONNECT_MS
KEEP_ALIVE: HTTPResponseBodyEvent = {
    "type": "http.response.body",
    "body": b": keep-alive\r\n\r\n",
    "more_body": True,
}
END: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}


def revocation(verifier: TokenVerifier, claims: AccessClaims) -> Callable[[], bool]:
    """Whether the stream's token has been revoked since (its session signed out, its account denied)."""
    sid = claims.claims.get("sid")
    issued_at = int(claims.claims.get("iat", 0))

    def revoked() -> bool:
        if verifier.is_revoked is not None and verifier.is_revoked(claims.user_id, issued_at):
            return True
        return (
            isinstance(sid, str)
            and verifier.is_session_revoked is not None
            and verifier.is_session_revoked(sid)
        )

    return revoked


def event_bytes(row: Mapping[str, Any]) -> bytes:
    """One SSE event: the notification's id and its JSON (one line: JSON has no raw newlines)."""
    data = msgspec.json.encode(msgspec.convert(dict(row), s.Notification))
    return b"id: %s\r\ndata: %s\r\n\r\n" % (str(row["id"]).encode("ascii"), data)


def body(chunk: bytes) -> HTTPResponseBodyEvent:
    return {"type": "http.response.body", "body": chunk, "more_body": True}


@dataclass(eq=False, slots=True)
class LiveStream:
    """The ASGI response of one open stream (see the module)."""

    hub: LiveHub
    listener: Listener
    replayed: Sequence[Mapping[str, Any]]
    heartbeat: float
    expires_at: float
    revoked: Callable[[], bool]
    client_gone: bool = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watcher = asyncio.ensure_future(self._watch(receive))
        try:
            await send(START)
            await send(body(CONNECTED + b"".join(event_bytes(row) for row in self.replayed)))
            await self._follow(send)
            if not self.client_gone:
                await send(END)
        finally:
            watcher.cancel()
            self.hub.close(self.listener)

    async def _follow(self, send: Send) -> None:
        listener = self.listener
        while True:
            left = self.expires_at - time.time()
            if left <= 0 or self.revoked():
                return  # the token expired or was revoked: reconnect with a fresh one
            if not await listener.wait(min(self.heartbeat, left)):
                await send(KEEP_ALIVE)
                continue
            if listener.closed:
                return
            rows = listener.take()
            if rows:
                await send(body(b"".join(event_bytes(row) for row in rows)))

    async def _watch(self, receive: Receive) -> None:
        """Close the stream as soon as the client leaves (the server then says ``http.disconnect``)."""
        while (await receive())["type"] != "http.disconnect":
            pass
        self.client_gone = True
        self.listener.close()


async def open_stream(
    hub: LiveHub,
    claims: AccessClaims,
    verifier: TokenVerifier,
    last_event_id: uuid.UUID | None,
    heartbeat: float,
) -> LiveStream:
    """Register the caller's stream (``429`` past the per-user limit), then read its starting place
    in commit order and the replay (:meth:`LiveHub.begin`)."""
    user_id = claims.user_id
    try:
        listener = hub.open(user_id)
    except TooManyStreams as exc:
        raise TooManyRequests(
            RETRY_AFTER_TOO_MANY,
            f"At most {exc.limit} notification streams may be open at once; close one first",
        ) from None
    try:
        replayed = await hub.begin(listener, last_event_id)
    except BaseException:
        hub.close(listener)
        raise
    return LiveStream(hub, listener, replayed, heartbeat, claims.expires_at, revocation(verifier, claims))


def plain_last_event_id(headers: Iterable[tuple[bytes, bytes]]) -> tuple[bool, uuid.UUID | None]:
    """``(True, id or None)`` when the request has at most one ``Last-Event-ID`` and it is a UUID
    in its canonical text (lower case, hyphens: as the events carry it); ``(False, None)`` for
    anything else, which the handler takes (its validation answers, or it streams alike)."""
    found: uuid.UUID | None = None
    for name, value in headers:
        if name == b"last-event-id":
            if found is not None:
                return False, None
            try:
                found = uuid.UUID(value.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                return False, None
            if str(found).encode("ascii") != value:
                return False, None
    return True, found


def stream_fast_path(app: ASGIApp) -> ASGIApp:
    """Route middleware for ``StreamNotifications`` (``app`` is the handler it stands in front of)."""

    async def fast_path(scope: Scope, receive: Receive, send: Send) -> None:
        plain, last_event_id = plain_last_event_id(scope["headers"])
        if not plain or scope["query_string"]:
            await app(scope, receive, send)
            return
        state: State = scope["litestar_app"].state
        verifier: TokenVerifier = state[VERIFIER_STATE_KEY]
        caller = await verified_caller(scope, verifier)
        hub: LiveHub = state[LIVE_STATE_KEY]
        stream = await open_stream(hub, caller, verifier, last_event_id, state[HEARTBEAT_STATE_KEY])
        await stream(scope, receive, send)

    return fast_path
