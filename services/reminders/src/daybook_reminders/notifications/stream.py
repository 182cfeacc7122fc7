"""``GET /api/v1/notifications/stream``: the caller's new notifications as Server-Sent Events.

Each event is one notification: ``id`` its id, ``data`` its JSON (as ``GET /notifications``
lists it). The stream is registered with this process's :class:`LiveHub` *before* the
``Last-Event-ID`` replay is read, so a notification recorded in between arrives once (replayed,
and its live copy skipped). A comment line every ``REMINDERS_STREAM_HEARTBEAT_SECONDS`` keeps an
idle stream open through proxies; the stream ends when the access token expires (the client
reconnects with a fresh one and ``Last-Event-ID``), when the account is erased or deactivated (at
once), when the token's session is signed out (at the next heartbeat), or when the client falls
``QUEUE_SIZE`` notifications behind.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import msgspec
from litestar.response import ServerSentEvent, ServerSentEventMessage

from daybook_common.auth import AccessClaims, TokenVerifier
from daybook_reminders.notifications import schemas as s
from daybook_reminders.notifications.live import Closed, Listener, LiveHub

#: The client waits this long before reconnecting after the stream ends (the SSE ``retry`` field).
RECONNECT_MS = 2000
#: Tells nginx-style proxies in front of the gateway not to buffer the stream.
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
LIVE_STATE_KEY = "reminders_live"
HEARTBEAT_STATE_KEY = "reminders_stream_heartbeat"


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


def event_of(row: Mapping[str, Any]) -> ServerSentEventMessage:
    data = msgspec.json.encode(msgspec.convert(dict(row), s.Notification)).decode()
    return ServerSentEventMessage(data=data, id=str(row["id"]))


def comment(text: str, retry: int | None = None) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=None, comment=text, retry=retry)


async def events(
    hub: LiveHub,
    listener: Listener,
    replayed: Iterable[Mapping[str, Any]],
    heartbeat: float,
    expires_at: float,
    revoked: Callable[[], bool],
) -> AsyncIterator[ServerSentEventMessage]:
    try:
        yield comment("connected", retry=RECONNECT_MS)
        seen: set[uuid.UUID] = set()
        for row in replayed:
            seen.add(row["id"])
            yield event_of(row)
        while True:
            left = expires_at - time.time()
            if left <= 0 or revoked():
                return  # the token expired or was revoked: reconnect with a fresh one
            try:
                item = await asyncio.wait_for(listener.queue.get(), timeout=min(heartbeat, left))
            except TimeoutError:
                yield comment("keep-alive")
                continue
            if isinstance(item, Closed):
                return
            if item["id"] not in seen:
                yield event_of(item)
    finally:
        hub.close(listener)


async def open_stream(
    hub: LiveHub,
    claims: AccessClaims,
    verifier: TokenVerifier,
    last_event_id: uuid.UUID | None,
    heartbeat: float,
) -> ServerSentEvent:
    user_id = claims.user_id
    listener = hub.open(user_id)
    try:
        replayed = await hub.replay(user_id, last_event_id) if last_event_id is not None else []
    except BaseException:
        hub.close(listener)
        raise
    stream = events(hub, listener, replayed, heartbeat, claims.expires_at, revocation(verifier, claims))
    return ServerSentEvent(stream, headers=STREAM_HEADERS)
